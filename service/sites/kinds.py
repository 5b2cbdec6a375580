"""Site kinds and risk classes: stable codes, Chinese names first; the nine small kinds as in the categories."""
from flask_babel import lazy_gettext as _l

from service.rules.categories import NINE_SMALL_SUBTYPES

NINE_SMALL_PREFIX = "small_"

SITE_KINDS = {
    "large_complex": _l("大型综合体"),
    "hospital": _l("医院"),
    "school": _l("学校"),
    "elderly_care": _l("养老机构"),
    "high_rise": _l("高层住宅"),
    "old_estate": _l("老旧小区"),
    "rural_self_built": _l("农村自建房"),
} | {NINE_SMALL_PREFIX + code: name for code, name in NINE_SMALL_SUBTYPES}

RISK_CLASSES = {"low": _l("低"), "medium": _l("中"), "high": _l("高")}

# Inspection checklist items: code -> (what the inspector checks, the hazard category a failure is reported as).
CHECK_ITEMS = {
    "exits_clear": (_l("安全出口、疏散通道畅通且未锁闭"), "exit_blocked"),
    "fire_lane_clear": (_l("消防车通道畅通"), "fire_lane_blocked"),
    "extinguishers_ok": (_l("灭火器等消防器材齐全且在有效期内"), "equipment_missing"),
    "no_ebike_indoor": (_l("无电动自行车楼道停放或室内充电"), "ebike_charging"),
    "wiring_ok": (_l("无私拉乱接电线、超负荷用电"), "illegal_wiring"),
    "no_combustibles": (_l("公共区域无可燃物堆放"), "combustibles"),
    "gas_ok": (_l("燃气、明火使用规范"), "gas_open_flame"),
    "no_living_in": (_l("无“三合一”住人现象"), "three_in_one"),
    "windows_open": (_l("防盗窗、铁栅栏留有逃生出口"), "window_bars"),
}
# The checklist of each site kind (INSPECTION_CHECKLISTS in the config replaces any of them).
_COMMON = ("exits_clear", "extinguishers_ok", "no_ebike_indoor", "wiring_ok")
DEFAULT_CHECKLISTS = {
    "large_complex": ("exits_clear", "fire_lane_clear", "extinguishers_ok", "wiring_ok", "no_combustibles"),
    "hospital": ("exits_clear", "fire_lane_clear", "extinguishers_ok", "wiring_ok", "gas_ok"),
    "school": ("exits_clear", "extinguishers_ok", "no_ebike_indoor", "wiring_ok"),
    "elderly_care": ("exits_clear", "extinguishers_ok", "no_ebike_indoor", "wiring_ok", "gas_ok"),
    "high_rise": ("exits_clear", "fire_lane_clear", "extinguishers_ok", "no_ebike_indoor", "no_combustibles"),
    "old_estate": ("exits_clear", "fire_lane_clear", "no_ebike_indoor", "wiring_ok", "no_combustibles",
                   "windows_open"),
    "rural_self_built": ("exits_clear", "no_ebike_indoor", "wiring_ok", "gas_ok", "no_living_in", "windows_open"),
} | {NINE_SMALL_PREFIX + code: (*_COMMON, "gas_ok", "no_living_in") for code, _name in NINE_SMALL_SUBTYPES}
