"""Hazard categories and risk levels: stable codes, Chinese names first."""
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l


@dataclass(frozen=True)
class Category:
    code: str
    name: object  # a lazy translation string
    default_risk: str
    subtypes: tuple[tuple[str, object], ...] = ()


RISK_LEVELS = {
    "general": _l("一般"),
    "major": _l("较大"),
    "suspected_severe": _l("疑似重大"),
}

NINE_SMALL_SUBTYPES = (
    ("shop", _l("小商店")),
    ("restaurant", _l("小餐饮")),
    ("hotel", _l("小旅馆")),
    ("entertainment", _l("小歌舞娱乐")),
    ("internet_cafe", _l("小网吧")),
    ("beauty_bath", _l("小美容洗浴")),
    ("school", _l("小学校/幼儿园")),
    ("clinic", _l("小医院/诊所")),
    ("workshop", _l("小生产加工")),
)

CATEGORIES = {
    c.code: c
    for c in (
        Category("fire_lane_blocked", _l("消防车通道/生命通道堵塞"), "major"),
        Category("exit_blocked", _l("疏散通道/安全出口堵塞或锁闭"), "major"),
        Category("ebike_charging", _l("电动自行车楼道停放/室内充电/飞线充电"), "major"),
        Category("illegal_wiring", _l("私拉乱接电线/超负荷用电"), "general"),
        Category("equipment_missing", _l("消防设施器材缺失或损坏"), "general"),
        Category("combustibles", _l("公共区域堆放可燃物"), "general"),
        Category("three_in_one", _l("“三合一”场所"), "suspected_severe"),
        Category("nine_small", _l("九小场所隐患"), "general", NINE_SMALL_SUBTYPES),
        Category("gas_open_flame", _l("燃气/明火使用不当"), "major"),
        Category("window_bars", _l("防盗窗/铁栅栏封堵逃生出口"), "major"),
        Category("other", _l("其他"), "general"),
    )
}


def as_json() -> dict:
    """Return categories and risk levels in the API's shape."""
    return {
        "categories": [
            {
                "code": c.code,
                "name": str(c.name),
                "default_risk": c.default_risk,
                "subtypes": [{"code": s, "name": str(n)} for s, n in c.subtypes],
            }
            for c in CATEGORIES.values()
        ],
        "risk_levels": [{"code": k, "name": str(v)} for k, v in RISK_LEVELS.items()],
    }
