"""Fixed vocabularies of the demo company: regions, cities, names, industries, products.

Everything here is constant data (no randomness). Region codes are the English codes
stored in ``customers.region``; :data:`REGION_LABELS` maps each code to its English and
Chinese label (``"east_china"`` -> ``("East China", "华东")``).
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = [
    "City",
    "REGION_CODES",
    "REGION_LABELS",
    "REGION_WEIGHTS",
    "CITIES",
    "SURNAMES",
    "GIVEN_NAMES",
    "EN_FIRST_NAMES",
    "EN_LAST_NAMES",
    "COMPANY_WORDS",
    "INDUSTRIES",
    "ROADS_ZH",
    "ROADS_EN",
    "MOBILE_PREFIXES",
    "CATEGORIES",
    "CATEGORY_LABELS",
    "CATEGORY_MARGIN",
    "CATEGORY_PRICE",
    "CATEGORY_CODE",
    "CATEGORY_POPULARITY",
    "PRODUCTS_PER_CATEGORY",
    "CHANNELS",
    "ACQUISITION_CHANNELS",
    "GENDERS",
    "AGE_BANDS",
    "EDUCATION",
    "INCOME_BANDS",
    "OCCUPATIONS",
    "COMPANY_SIZES",
    "LEAD_SOURCES",
    "CONTACT_CHANNELS",
]


class City(NamedTuple):
    """A city: English and Chinese name, region code, postcode, IANA time zone, phone code."""

    en: str
    zh: str
    region: str
    postcode: str
    tz: str
    country_code: str


REGION_LABELS: dict[str, tuple[str, str]] = {
    "east_china": ("East China", "华东"),
    "north_china": ("North China", "华北"),
    "south_china": ("South China", "华南"),
    "central_china": ("Central China", "华中"),
    "southwest_china": ("Southwest China", "西南"),
    "northwest_china": ("Northwest China", "西北"),
    "northeast_china": ("Northeast China", "东北"),
    "overseas": ("Overseas", "海外"),
}
"""Region code -> (English label, Chinese label)."""

REGION_CODES: tuple[str, ...] = tuple(REGION_LABELS)
REGION_WEIGHTS: tuple[float, ...] = (0.30, 0.17, 0.18, 0.11, 0.10, 0.05, 0.06, 0.03)
"""Share of customers per region, in the order of :data:`REGION_CODES`."""

_SH = "Asia/Shanghai"
CITIES: tuple[City, ...] = (
    City("Shanghai", "上海", "east_china", "200000", _SH, "+86"),
    City("Hangzhou", "杭州", "east_china", "310000", _SH, "+86"),
    City("Nanjing", "南京", "east_china", "210000", _SH, "+86"),
    City("Suzhou", "苏州", "east_china", "215000", _SH, "+86"),
    City("Ningbo", "宁波", "east_china", "315000", _SH, "+86"),
    City("Hefei", "合肥", "east_china", "230000", _SH, "+86"),
    City("Jinan", "济南", "east_china", "250000", _SH, "+86"),
    City("Qingdao", "青岛", "east_china", "266000", _SH, "+86"),
    City("Fuzhou", "福州", "east_china", "350000", _SH, "+86"),
    City("Xiamen", "厦门", "east_china", "361000", _SH, "+86"),
    City("Beijing", "北京", "north_china", "100000", _SH, "+86"),
    City("Tianjin", "天津", "north_china", "300000", _SH, "+86"),
    City("Shijiazhuang", "石家庄", "north_china", "050000", _SH, "+86"),
    City("Taiyuan", "太原", "north_china", "030000", _SH, "+86"),
    City("Hohhot", "呼和浩特", "north_china", "010000", _SH, "+86"),
    City("Guangzhou", "广州", "south_china", "510000", _SH, "+86"),
    City("Shenzhen", "深圳", "south_china", "518000", _SH, "+86"),
    City("Dongguan", "东莞", "south_china", "523000", _SH, "+86"),
    City("Nanning", "南宁", "south_china", "530000", _SH, "+86"),
    City("Haikou", "海口", "south_china", "570000", _SH, "+86"),
    City("Wuhan", "武汉", "central_china", "430000", _SH, "+86"),
    City("Changsha", "长沙", "central_china", "410000", _SH, "+86"),
    City("Zhengzhou", "郑州", "central_china", "450000", _SH, "+86"),
    City("Nanchang", "南昌", "central_china", "330000", _SH, "+86"),
    City("Chengdu", "成都", "southwest_china", "610000", _SH, "+86"),
    City("Chongqing", "重庆", "southwest_china", "400000", _SH, "+86"),
    City("Kunming", "昆明", "southwest_china", "650000", _SH, "+86"),
    City("Guiyang", "贵阳", "southwest_china", "550000", _SH, "+86"),
    City("Xi'an", "西安", "northwest_china", "710000", _SH, "+86"),
    City("Lanzhou", "兰州", "northwest_china", "730000", _SH, "+86"),
    City("Urumqi", "乌鲁木齐", "northwest_china", "830000", "Asia/Urumqi", "+86"),
    City("Shenyang", "沈阳", "northeast_china", "110000", _SH, "+86"),
    City("Dalian", "大连", "northeast_china", "116000", _SH, "+86"),
    City("Harbin", "哈尔滨", "northeast_china", "150000", _SH, "+86"),
    City("Changchun", "长春", "northeast_china", "130000", _SH, "+86"),
    City("Singapore", "新加坡", "overseas", "018989", "Asia/Singapore", "+65"),
    City("London", "伦敦", "overseas", "EC1A 1BB", "Europe/London", "+44"),
    City("San Francisco", "旧金山", "overseas", "94105", "America/Los_Angeles", "+1"),
    City("Sydney", "悉尼", "overseas", "2000", "Australia/Sydney", "+61"),
)
"""Cities; a customer's city is drawn uniformly among the cities of its region."""

SURNAMES: tuple[tuple[str, str], ...] = (
    ("王", "Wang"),
    ("李", "Li"),
    ("张", "Zhang"),
    ("刘", "Liu"),
    ("陈", "Chen"),
    ("杨", "Yang"),
    ("黄", "Huang"),
    ("赵", "Zhao"),
    ("吴", "Wu"),
    ("周", "Zhou"),
    ("徐", "Xu"),
    ("孙", "Sun"),
    ("马", "Ma"),
    ("朱", "Zhu"),
    ("胡", "Hu"),
    ("郭", "Guo"),
    ("何", "He"),
    ("高", "Gao"),
    ("林", "Lin"),
    ("罗", "Luo"),
)
GIVEN_NAMES: tuple[tuple[str, str], ...] = (
    ("伟", "Wei"),
    ("芳", "Fang"),
    ("娜", "Na"),
    ("秀英", "Xiuying"),
    ("敏", "Min"),
    ("静", "Jing"),
    ("丽", "Li"),
    ("强", "Qiang"),
    ("磊", "Lei"),
    ("军", "Jun"),
    ("洋", "Yang"),
    ("勇", "Yong"),
    ("艳", "Yan"),
    ("杰", "Jie"),
    ("娟", "Juan"),
    ("涛", "Tao"),
    ("明", "Ming"),
    ("超", "Chao"),
    ("秀兰", "Xiulan"),
    ("霞", "Xia"),
    ("平", "Ping"),
    ("刚", "Gang"),
    ("桂英", "Guiying"),
    ("浩然", "Haoran"),
    ("子涵", "Zihan"),
    ("雨桐", "Yutong"),
    ("欣怡", "Xinyi"),
    ("梓萱", "Zixuan"),
    ("宇轩", "Yuxuan"),
    ("俊杰", "Junjie"),
)
EN_FIRST_NAMES: tuple[str, ...] = (
    "James",
    "Mary",
    "John",
    "Patricia",
    "Robert",
    "Jennifer",
    "Michael",
    "Linda",
    "David",
    "Elizabeth",
    "William",
    "Susan",
    "Emma",
    "Oliver",
    "Sophia",
    "Lucas",
    "Grace",
    "Daniel",
    "Chloe",
    "Henry",
)
EN_LAST_NAMES: tuple[str, ...] = (
    "Smith",
    "Johnson",
    "Brown",
    "Taylor",
    "Wilson",
    "Davies",
    "Evans",
    "Thomas",
    "Roberts",
    "Walker",
    "Wright",
    "Clarke",
    "Hall",
    "Lee",
    "Green",
    "Baker",
    "Turner",
    "Scott",
    "Young",
    "King",
)
COMPANY_WORDS: tuple[tuple[str, str], ...] = (
    ("华信", "Huaxin"),
    ("宏达", "Hongda"),
    ("金盛", "Jinsheng"),
    ("恒通", "Hengtong"),
    ("远航", "Yuanhang"),
    ("东方", "Dongfang"),
    ("新世纪", "Xinshiji"),
    ("瑞丰", "Ruifeng"),
    ("博远", "Boyuan"),
    ("天成", "Tiancheng"),
    ("海纳", "Haina"),
    ("鼎信", "Dingxin"),
    ("正泰", "Zhengtai"),
    ("嘉禾", "Jiahe"),
    ("中科", "Zhongke"),
    ("美达", "Meida"),
)
INDUSTRIES: tuple[tuple[str, str, str], ...] = (
    ("manufacturing", "制造", "Manufacturing"),
    ("retail", "商贸", "Trading"),
    ("information_technology", "科技", "Technology"),
    ("finance", "投资", "Investment"),
    ("healthcare", "医药", "Pharmaceutical"),
    ("education", "教育", "Education"),
    ("construction", "建设", "Construction"),
    ("logistics", "物流", "Logistics"),
    ("hospitality", "酒店管理", "Hospitality"),
    ("energy", "能源", "Energy"),
)
"""Industry code, the word used in Chinese company names, the word in English names."""

ROADS_ZH: tuple[str, ...] = (
    "人民路",
    "中山路",
    "解放路",
    "建设路",
    "和平路",
    "长江路",
    "滨江大道",
    "科技园路",
    "南京路",
    "文化路",
)
ROADS_EN: tuple[str, ...] = (
    "High Street",
    "Market Street",
    "Orchard Road",
    "Queen Street",
    "Victoria Road",
    "George Street",
    "Mission Street",
    "Park Avenue",
)
MOBILE_PREFIXES: tuple[str, ...] = (
    "133",
    "135",
    "136",
    "138",
    "139",
    "150",
    "151",
    "152",
    "158",
    "159",
    "177",
    "180",
    "186",
    "188",
    "189",
)

CATEGORIES: tuple[str, ...] = (
    "electronics",
    "appliances",
    "apparel",
    "beauty",
    "home",
    "food",
    "office",
    "services",
)
CATEGORY_LABELS: dict[str, str] = {
    "electronics": "电子产品",
    "appliances": "家电",
    "apparel": "服装",
    "beauty": "美妆",
    "home": "家居",
    "food": "食品",
    "office": "办公用品",
    "services": "服务",
}
"""Category code -> Chinese label."""
CATEGORY_CODE: dict[str, str] = {
    "electronics": "ELE",
    "appliances": "APL",
    "apparel": "APP",
    "beauty": "BEA",
    "home": "HOM",
    "food": "FOD",
    "office": "OFF",
    "services": "SRV",
}
"""Category -> three-letter prefix of its product ids (``ELE-001`` ... ``ELE-020``)."""
CATEGORY_MARGIN: dict[str, float] = {
    "electronics": 0.12,
    "appliances": 0.18,
    "apparel": 0.45,
    "beauty": 0.55,
    "home": 0.35,
    "food": 0.25,
    "office": 0.30,
    "services": 0.60,
}
"""Mean gross-margin rate (margin / amount) per category: a designed truth."""
CATEGORY_PRICE: dict[str, float] = {
    "electronics": 800.0,
    "appliances": 1500.0,
    "apparel": 200.0,
    "beauty": 150.0,
    "home": 300.0,
    "food": 60.0,
    "office": 80.0,
    "services": 500.0,
}
"""Typical unit list price per category (products range from 0.5x to 2x of it)."""
PRODUCTS_PER_CATEGORY = 20
CATEGORY_POPULARITY: dict[str, tuple[float, ...]] = {
    "personal": (0.12, 0.08, 0.22, 0.15, 0.15, 0.18, 0.05, 0.05),
    "corporate": (0.20, 0.10, 0.03, 0.02, 0.08, 0.07, 0.30, 0.20),
}
"""Share of lines per category (order of :data:`CATEGORIES`) by customer type; a customer
buys its favourite category (drawn from the same shares) on 40 % of lines instead."""

CHANNELS: tuple[str, ...] = ("store", "web", "app", "phone", "partner")
ACQUISITION_CHANNELS: tuple[str, ...] = (
    "web",
    "app",
    "store",
    "referral",
    "partner",
    "sales_team",
    "event",
)
GENDERS: tuple[str, ...] = ("female", "male")
AGE_BANDS: tuple[str, ...] = ("18-24", "25-34", "35-44", "45-54", "55-64", "65+")
EDUCATION: tuple[str, ...] = ("secondary", "college", "bachelor", "master", "doctorate")
INCOME_BANDS: tuple[str, ...] = ("<5k", "5k-10k", "10k-20k", "20k-50k", "50k+")
"""Monthly personal income bands (currency units); ordered from low to high."""
OCCUPATIONS: tuple[str, ...] = (
    "professional",
    "manager",
    "civil_servant",
    "worker",
    "self_employed",
    "student",
    "retired",
    "other",
)
COMPANY_SIZES: tuple[str, ...] = ("micro", "small", "medium", "large")
LEAD_SOURCES: tuple[str, ...] = (
    "web",
    "referral",
    "event",
    "trade_show",
    "cold_call",
    "advertising",
    "partner",
)
CONTACT_CHANNELS: tuple[str, ...] = ("phone", "email", "web", "store", "wechat")
