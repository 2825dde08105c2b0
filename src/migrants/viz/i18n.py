"""English and Chinese labels for the page.

``lang`` is a Solara reactive variable: each browser session (each tab) has its
own value.  ``t(key)`` looks a label up in the current language; city names
come from ``configs/cities.csv`` (``name_en`` / ``name_zh``) through
``city_name``.
"""

from __future__ import annotations

import solara

LANGS = ("en", "zh")
lang = solara.reactive("en")

PROVINCES_ZH = {
    "Liaoning": "辽宁",
    "Jilin": "吉林",
    "Heilongjiang": "黑龙江",
    "Inner Mongolia": "内蒙古",
    "Beijing": "北京",
    "Tianjin": "天津",
    "Hebei": "河北",
    "Zhejiang": "浙江",
    "Rest of China": "其他地区",
}

LABELS: dict[str, tuple[str, str]] = {
    # page and cards
    "title": ("Labour migration in Northeast China", "东北地区劳动力迁移"),
    "language": ("Language", "语言"),
    "scenario": ("Scenario or teaching preset", "情景或教学预设"),
    "scenario_hint": ("Choosing one loads it at once; Reset keeps it.", "选择后立即加载；“重置”保留当前选择。"),
    "lesson": ("Lesson", "课程"),
    "try": ("What to try", "试一试"),
    "watch": ("What to watch for", "注意观察"),
    "month": ("Month", "月份"),
    "of": ("of", "/"),
    "settings": ("Settings of this run", "本次运行的设置"),
    "seed": ("Seed", "随机种子"),
    "scale": ("Persons per agent", "每个主体代表人数"),
    "cities_n": ("cities", "个城市"),
    "agents": ("agents", "个主体"),
    "map": ("Map", "地图"),
    "map_title": ("Net migration, last 12 months", "近12个月净迁移"),
    "net_rate": ("Net migration ‰, 12 months", "近12个月净迁移率(‰)"),
    "population": ("Population", "人口"),
    "province": ("Province", "省份"),
    "flows": ("Largest flows, 12 months (persons)", "近12个月最大迁移流(人)"),
    "metro": ("Shenyang metropolitan area", "沈阳都市圈"),
    "south_break": ("south of 36°N: not to scale", "北纬36°以南：未按比例"),
    "rest_of_china_note": ("(drawn at Shanghai)", "(以上海表示)"),
    # details
    "details": ("City details", "城市详情"),
    "choose_city": ("City", "城市"),
    "working_age": ("Working age (16 to retirement)", "劳动年龄人口"),
    "unemployment": ("Unemployment rate", "失业率"),
    "wage": ("Mean wage (CNY a month)", "平均工资(元/月)"),
    "rent": ("Rent (CNY a month)", "租金(元/月)"),
    "grads_retained": ("Graduates retained (last cohort)", "毕业生留存率(最近一届)"),
    "arrivals_12": ("Arrivals, 12 months", "近12个月迁入"),
    "departures_12": ("Departures, 12 months", "近12个月迁出"),
    "net_12": ("Net migration, 12 months", "近12个月净迁移"),
    "age_structure": ("Age structure", "年龄结构"),
    "arrivals_from": ("Arrivals by origin, 12 months", "迁入来源(近12个月)"),
    "departures_to": ("Departures by destination, 12 months", "迁出去向(近12个月)"),
    "origin": ("Origin", "来源地"),
    "destination": ("Destination", "目的地"),
    "persons": ("Persons", "人数"),
    "none_yet": ("none yet", "暂无"),
    "no_cohort": ("no cohort yet (graduates arrive in July)", "暂无(毕业生7月毕业)"),
    # age bands
    "minors": ("Under 18", "18岁以下"),
    "students": ("Students", "在校大学生"),
    "age_18_24": ("18-24", "18-24岁"),
    "age_25_34": ("25-34", "25-34岁"),
    "age_35_44": ("35-44", "35-44岁"),
    "age_45_54": ("45-54", "45-54岁"),
    "age_55_plus": ("55+", "55岁及以上"),
    "retirees": ("Retired", "退休人员"),
    # charts
    "charts": ("Over time", "时间趋势"),
    "chart_cities": ("Cities in the charts", "图表中的城市"),
    "pop_cities": ("Population of the chosen cities", "所选城市人口"),
    "pop_provinces": ("Population by province", "各省人口"),
    "unemp_chart": ("Unemployment rate", "失业率"),
    "retention_chart": ("Graduate retention (July cohorts)", "毕业生留存率(7月届)"),
    "subsidy_chart": ("Subsidy spend (million CNY a month)", "补贴支出(百万元/月)"),
    "all_cities": ("All cities", "全部城市"),
    "date": ("Date", "日期"),
    "share": ("Share", "比例"),
    "million_cny": ("Million CNY", "百万元"),
    # levers
    "levers": ("Levers", "政策杠杆"),
    "seed_hint": ("Seed (blank: the scenario's)", "随机种子(空白：使用情景默认)"),
    "scale_label": ("Persons per agent", "每个主体代表人数"),
    "reset_hint": ("Levers, seed and scale apply when you press Reset; until then the run on the page keeps "
                   "its values, and a moved lever is marked with the value it has now.",
                   "政策杠杆、随机种子和规模在按“重置”后生效；在此之前页面上的运行保持原值，已移动的杠杆会标出当前值。"),
    # the map
    "measure": ("Colour by", "着色指标"),
    "measure_net_rate": ("Net migration, 12 months (‰ of residents)", "近12个月净迁移率(‰)"),
    "measure_pop_change": ("Population change since the start (%)", "人口较起始变化(%)"),
    "measure_unemployment": ("Unemployment rate (%)", "失业率(%)"),
    "measure_rent_burden": ("Rent as a share of the mean wage (%)", "租金占平均工资比例(%)"),
    "measure_retention": ("Graduates retained, last cohort (%)", "毕业生留存率，最近一届(%)"),
    "n_flows": ("Flows shown", "显示的迁移流"),
    "flows_12": ("persons, 12 months", "人，近12个月"),
    "no_data": ("no data yet", "暂无数据"),
    "not_to_position": ("Zhejiang, inset", "浙江（插图）"),
    "bohai": ("Bohai Sea", "渤海"),
    "yellow_sea": ("Yellow Sea", "黄海"),
    # controls
    "controls": ("Run", "运行"),
    "play": ("Play", "播放"),
    "pause": ("Pause", "暂停"),
    "step": ("Step", "单步"),
    "reset": ("Reset", "重置"),
    "speed": ("Speed", "速度"),
    "speed_slow": ("Slow", "慢"),
    "speed_normal": ("Normal", "中"),
    "speed_fast": ("Fast", "快"),
    "advanced": ("Seed and scale", "随机种子与规模"),
    "pending": ("applies on Reset", "按“重置”后生效"),
    "now": ("now", "当前"),
    "pending_n": ("lever(s) waiting for Reset", "项设置等待“重置”"),
    "finished": ("The run has reached its last month.", "运行已到最后一个月。"),
    "scale_default": ("scenario's", "情景默认"),
    "on": ("on", "开"),
    "off": ("off", "关"),
}


def t(key: str, language: str | None = None) -> str:
    """The label ``key`` in ``language`` (default: the session's current language)."""
    en, zh = LABELS[key]
    return zh if (language or lang.value) == "zh" else en


def province_name(province: str, language: str | None = None) -> str:
    if (language or lang.value) == "zh":
        return PROVINCES_ZH.get(province, province)
    return province


def names_for(model, language: str | None = None) -> list[str]:
    """Display names of the model's C cities plus the Rest of China (J names), in ``language``."""
    language = language or lang.value
    if language == "zh":
        zh = list(model.cities["name_zh"])
        roc = model.rest_of_china.get("name_zh", "其他地区")
        # 沈阳市 -> 沈阳, but 吉林市 stays (吉林 is also the province)
        return [n if n == "吉林市" or len(n) <= 2 else n.removesuffix("市") for n in zh] + [roc]
    return list(model.names)


def fmt_int(x: float) -> str:
    return f"{int(round(float(x))):,}"


def fmt_pct(x: float, digits: int = 1) -> str:
    return f"{100 * float(x):.{digits}f}%"
