"""Static master data: companies, stores, categories, taxes, brands and products."""

from __future__ import annotations

import bisect
import itertools
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from odoo_sim.config import SimConfig

DT_FMT = "%Y-%m-%d %H:%M:%S"

# id -> (name, amount %, price_include)
TAXES: dict[int, tuple[str, int, bool]] = {
    1: ("6%", 6, False),
    2: ("21%", 21, False),
    3: ("6% (incl.)", 6, True),
    4: ("21% (incl.)", 21, True),
}

_COMPANIES = ["NK Demo Belgium SRL", "NK Demo Nederland B.V."]
_STORES = [
    "Bruxelles – Gare du Midi",
    "Liège – Place Saint-Lambert",
    "Gent – Korenmarkt",
    "Antwerpen – Meir",
    "Namur – Citadelle",
    "Leuven – Grote Markt",
    "Mons – Grand-Place",
    "Brugge – Markt",
]

# product.category: id -> (name, parent id)
PRODUCT_CATEGORIES: dict[int, tuple[str, int | None]] = {
    1: ("All", None),
    2: ("Saleable", 1),
    3: ("Drinks", 2),
    4: ("Coffee", 3),
    5: ("Tea", 3),
    6: ("Beer", 3),
    7: ("Soft drinks", 3),
    8: ("Food", 2),
    9: ("Bakery", 8),
    10: ("Sandwiches", 8),
    11: ("Desserts", 8),
    12: ("Retail", 2),
    13: ("Books & Press", 12),
    14: ("Gifts", 12),
}
# pos.category: id -> (name, parent id)
POS_CATEGORIES: dict[int, tuple[str, int | None]] = {
    1: ("Drinks", None),
    2: ("Coffee", 1),
    3: ("Tea", 1),
    4: ("Beer", 1),
    5: ("Soft drinks", 1),
    6: ("Food", None),
    7: ("Bakery", 6),
    8: ("Sandwiches", 6),
    9: ("Desserts", 6),
    10: ("Retail", None),
    11: ("Press", 10),
    12: ("Gifts", 10),
}

# leaf: (product.category, pos.category, tax id, min cents, max cents, base names)
_LEAVES: list[tuple[int, int, int, int, int, list[str]]] = [
    (4, 2, 3, 220, 520, ["Café crème", "Espresso", "Cappuccino", "Latte macchiato", "Café noisette",
                         "Americano", "Flat white", "Mocha"]),
    (5, 3, 1, 250, 450, ["Thé vert Sencha", "Thé à la menthe", "Earl Grey", "Rooibos", "Chaï latte",
                         "Infusion tilleul"]),
    (6, 4, 4, 350, 850, ["Bière brune Ølvin", "Blonde d'Abbaye", "Kriek Lambic", "Gueuze",
                         "Tripel Karmeliet", "Witbier", "Saison Dupont"]),
    (7, 5, 1, 200, 550, ["Jus d'orange pressé", "Limonade maison", "Eau pétillante", "Thé glacé pêche",
                         "Cola zéro", "Smoothie fraise-banane"]),
    (9, 7, 1, 110, 650, ["Croissant au beurre", "Pain au chocolat", "Gaufre de Liège", "Cramique",
                         "Pain aux raisins", "Baguette tradition", "Brioche"]),
    (10, 8, 3, 450, 1150, ["Croque-monsieur", "Sandwich jambon-beurre", "Smørrebrød saumon", "Club poulet",
                           "Pita falafel", "Panini mozzarella", "Bagel crème fraîche"]),
    (11, 9, 1, 290, 790, ["Crème brûlée", "Tarte au riz", "Mousse au chocolat", "Speculoos", "Tiramisù",
                          "Éclair café", "Merveilleux"]),
    (13, 11, 1, 250, 1800, ["Le Soir", "De Standaard", "La Libre Belgique", "Het Nieuwsblad",
                            "Magazine Déco", "Bande dessinée Tintin"]),
    (14, 12, 2, 500, 3500, ["Mug NK Café", "Tote bag Bruxelles", "Pralines Neuhaus 250g",
                            "Carte postale Atomium", "Boîte à thé"]),
]
_QUALIFIERS = ["", "petit", "grand", "bio", "sans lactose", "XL", "à emporter", "duo", "maison",
               "premium", "mini", "double", "édition d'hiver", "zéro sucre"]
_BRAND_WORDS = ["Ølvin", "Café Liégeois", "Brasserie du Midi", "Neuhaus", "Lotus", "Côte d'Or", "Spa",
                "Chaudfontaine", "Duvel", "Leffe", "Jules Destrooper", "Meli", "Vandemoortele",
                "Pâtisserie Wittamer", "Marcolini", "Kusmi", "Dammann Frères", "Lipton", "Illy", "Lavazza"]


# Variant attributes by leaf product.category (create_variant = always): (attribute id, name, values).
ATTRIBUTES: dict[int, tuple[str, list[str]]] = {
    1: ("Size", ["Small", "Medium", "Large", "XL", "Family"]),
    2: ("Volume", ["25 cl", "33 cl", "50 cl", "75 cl", "1 L"]),
    3: ("Color", ["White", "Black", "Red"]),
    4: ("Format", ["S", "M", "L"]),
}
_LEAF_ATTRIBUTES: dict[int, tuple[int, ...]] = {4: (1,), 5: (1,), 6: (2,), 7: (2,), 9: (1,), 10: (1,), 11: (1,),
                                                13: (4,), 14: (3, 4)}
_VARIANT_FAMILY_RATE = 0.08  # share of templates that get 2-5 variants
# Cashiers (res.users) per store; with pos_hr also employees without a user of their own.
CASHIERS = ["Amélie Dubois", "Jan Peeters", "Sofia Rossi", "Lucas Martin", "Emma Janssens", "Noah Claes",
            "Léa Lambert", "Milan De Smet", "Chloé Lemaire", "Arthur Wouters", "Nina Jacobs", "Victor Hermans"]
_EMPLOYEES_WITHOUT_USER = ["Hugo Maes", "Julie Mertens", "Tom Willems", "Sarah Dupont", "Kobe Goossens",
                           "Manon Leclercq", "Lars Vermeulen", "Inès Renard"]
CASHIER_UID_BASE = 6
_CASHIERS_PER_STORE = 4


@dataclass
class Ptav:
    """A product.template.attribute.value: one value of one attribute line of a template."""

    id: int
    tmpl_id: int
    attribute_id: int
    value_index: int

    @property
    def name(self) -> str:
        return ATTRIBUTES[self.attribute_id][1][self.value_index]


@dataclass
class Product:
    """A product.product; `tmpl_id` is its product.template (= the id of the template's first variant)."""

    id: int
    name: str
    default_code: str | bool
    barcode: str
    categ_id: int
    pos_categ_id: int
    tax_id: int
    price_cents: int
    cost_cents: int
    brand_id: int | bool
    create_date: str
    history: list[tuple[str, str]]  # (utc datetime, name) ascending; first entry = creation
    tmpl_id: int = 0
    ptav_ids: list[int] = field(default_factory=list)  # in attribute-line order, as Odoo sorts them
    variant_ids: list[int] = field(default_factory=list)  # every variant of the template (ids ascending)

    def name_at(self, when: str) -> str:
        """The name the product had at `when` (naive UTC string)."""
        if len(self.history) == 1:
            return self.history[0][1]
        name = self.history[0][1]
        for dt, nm in self.history:
            if dt <= when:
                name = nm
            else:
                break
        return name


def complete_name(tree: dict[int, tuple[str, int | None]], cid: int, sep: str = " / ") -> str:
    parts = []
    cur: int | None = cid
    while cur is not None:
        name, cur = tree[cur]
        parts.append(name)
    return sep.join(reversed(parts))


def parent_path(tree: dict[int, tuple[str, int | None]], cid: int) -> str:
    ids = []
    cur: int | None = cid
    while cur is not None:
        ids.append(cur)
        cur = tree[cur][1]
    return "".join(f"{i}/" for i in reversed(ids))


class Catalog:
    """Master data, built once at start-up from the seed (cheap: a few ms for 2,000 products)."""

    def __init__(self, cfg: SimConfig) -> None:
        self.cfg = cfg
        rng = random.Random(f"{cfg.seed}:catalog")
        self.created = datetime.combine(cfg.start_date, datetime.min.time()) - timedelta(days=30)
        self.created_str = self.created.strftime(DT_FMT)
        self.companies = {i + 1: _COMPANIES[i] for i in range(cfg.companies)}
        self.stores = []
        for i in range(cfg.stores):
            base = _STORES[i % len(_STORES)]
            name = base if i < len(_STORES) else f"{base} {i // len(_STORES) + 1}"
            self.stores.append({"id": i + 1, "name": name, "company_id": (i % cfg.companies) + 1})
        # res.users who ring sales (several per store), and with pos_hr the hr.employee records:
        # one per such user plus one employee per store who has no user of their own.
        self.users = {CASHIER_UID_BASE + k: name for k, name in enumerate(CASHIERS)}
        self.store_users = [[CASHIER_UID_BASE + (_CASHIERS_PER_STORE * i + j) % len(CASHIERS)
                             for j in range(_CASHIERS_PER_STORE)] for i in range(cfg.stores)]
        self.employees: dict[int, tuple[str, int | bool]] = {k + 1: (name, CASHIER_UID_BASE + k)
                                                             for k, name in enumerate(CASHIERS)}
        self.store_employees = []
        for i in range(cfg.stores):
            eid = len(CASHIERS) + 1 + i
            self.employees[eid] = (_EMPLOYEES_WITHOUT_USER[i % len(_EMPLOYEES_WITHOUT_USER)], False)
            self.store_employees.append([uid - CASHIER_UID_BASE + 1 for uid in self.store_users[i]] + [eid])
        # busier first store, then decreasing
        self.store_weights = [1.0 / (1 + 0.35 * i) for i in range(cfg.stores)]
        self.brands = {i + 1: self._brand_name(i) for i in range(cfg.brands_count)} if cfg.brands else {}
        self.products: dict[int, Product] = {}
        used: set[str] = set()
        combos = list(itertools.product(range(len(_LEAVES)), _QUALIFIERS))
        rng.shuffle(combos)
        span_s = max(1, cfg.n_days) * 86400
        start_dt = datetime.combine(cfg.start_date, datetime.min.time())
        for i in range(cfg.products):
            pid = i + 1
            leaf_idx, qual = combos[i % len(combos)]
            categ, pos_categ, tax, lo, hi, bases = _LEAVES[leaf_idx]
            base = bases[rng.randrange(len(bases))]
            name = f"{base} {qual}".strip()
            serie = 2
            while name in used:
                name = f"{base} {qual} – série {serie}".replace("  ", " ")
                serie += 1
            used.add(name)
            price = rng.randrange(lo, hi + 1, 10)
            cost = int(price * rng.uniform(0.22, 0.6))
            brand = rng.randint(1, cfg.brands_count) if (cfg.brands and rng.random() < 0.8) else False
            created = (self.created + timedelta(seconds=rng.randrange(86400 * 20))).strftime(DT_FMT)
            history = [(created, name)]
            self.products[pid] = Product(pid, name, f"NK{pid:05d}", f"54{pid:011d}", categ, pos_categ, tax,
                                         price, cost, brand, created, history)
        # a few products renamed during the date range: the old name was used before
        n_renamed = max(3, cfg.products // 200)
        for pid in rng.sample(sorted(self.products), min(n_renamed, cfg.products)):
            p = self.products[pid]
            new_name = p.name
            old_name = f"{p.name} (ancienne recette)"
            when = (start_dt + timedelta(seconds=rng.randrange(span_s))).strftime(DT_FMT)
            p.history = [(p.history[0][0], old_name), (when, new_name)]
        self.ptavs: dict[int, Ptav] = {}
        self._make_variant_families(rng)
        # popularity: a long tail; rank order shuffled so ids do not encode popularity
        ranks = list(self.products)
        rng.shuffle(ranks)
        weights = [1.0 / (r + 15) for r in range(len(ranks))]
        self.product_ids = ranks
        self.product_cum = list(itertools.accumulate(weights))

    def _make_variant_families(self, rng: random.Random) -> None:
        """Turn runs of consecutive products into templates with 2-5 variants (sizes, colours).

        As in Odoo, every variant has the template's name; `display_name` adds the values of
        the attribute lines with more than one value: `[code] Name (Value, Value)`.
        """
        ids = sorted(self.products)
        next_ptav = 1
        i = 0
        while i < len(ids):
            head = self.products[ids[i]]
            head.tmpl_id = head.id
            head.variant_ids = [head.id]
            attrs = _LEAF_ATTRIBUTES.get(head.categ_id, ())
            if not attrs or rng.random() >= _VARIANT_FAMILY_RATE or i + 1 >= len(ids):
                i += 1
                continue
            combos = list(itertools.product(*(range(len(ATTRIBUTES[a][1])) for a in attrs)))
            k = min(rng.randint(2, 5), len(ids) - i, len(combos))
            combos = combos[:k]
            # one attribute line per attribute; its values are those the variants use
            line_values = [sorted({c[n] for c in combos}) for n in range(len(attrs))]
            ptav_of: dict[tuple[int, int], int] = {}
            for n, attr in enumerate(attrs):
                for v in line_values[n]:
                    self.ptavs[next_ptav] = Ptav(next_ptav, head.id, attr, v)
                    ptav_of[(n, v)] = next_ptav
                    next_ptav += 1
            family = [self.products[ids[i + j]] for j in range(k)]
            for j, (variant, combo) in enumerate(zip(family, combos, strict=True)):
                variant.tmpl_id = head.id
                variant.name = head.name
                variant.history = list(head.history)  # the name lives on the template
                variant.categ_id, variant.pos_categ_id, variant.tax_id = head.categ_id, head.pos_categ_id, head.tax_id
                variant.brand_id = head.brand_id
                variant.price_cents = head.price_cents + 50 * combo[0]  # price_extra per value
                variant.cost_cents = int(variant.price_cents * head.cost_cents / max(1, head.price_cents))
                variant.ptav_ids = [ptav_of[(n, combo[n])] for n in range(len(attrs))
                                    if len(line_values[n]) > 1]
                if j == k - 1 and k > 2:
                    variant.default_code = False  # as in Odoo's demo data: not every variant has a code
            for variant in family:
                variant.variant_ids = [v.id for v in family]
            i += k

    def variant_suffix(self, pid: int) -> str:
        """The combination name of a variant (Odoo's `_get_combination_name`), '' for a single variant."""
        names = [self.ptavs[t].name for t in self.products[pid].ptav_ids]
        return f" ({', '.join(names)})" if names else ""

    def display_name(self, pid: int, name: str) -> str:
        """`[default_code] Name (Value, Value)`, as product.product's display_name in Odoo 16-19."""
        p = self.products[pid]
        full = f"{name}{self.variant_suffix(pid)}"
        return f"[{p.default_code}] {full}" if p.default_code else full

    def _brand_name(self, i: int) -> str:
        base = _BRAND_WORDS[i % len(_BRAND_WORDS)]
        return base if i < len(_BRAND_WORDS) else f"{base} {i // len(_BRAND_WORDS) + 1}"

    def pick_products(self, rng: random.Random, k: int) -> list[int]:
        total = self.product_cum[-1]
        return [self.product_ids[bisect.bisect(self.product_cum, rng.random() * total)] for _ in range(k)]

    def product_name(self, pid: int, now: str) -> str:
        return self.products[pid].name_at(now)

    def product_write_date(self, pid: int, now: str) -> str:
        p = self.products[pid]
        wd = p.history[0][0]
        for dt, _ in p.history:
            if dt <= now:
                wd = dt
        return wd
