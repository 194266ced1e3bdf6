//! The consumer page: mobile first (a 412 px phone is the main screen), no JavaScript needed
//! (one optional script adds the in-browser check, see `phone`), in
//! Chinese or English. The verdict first, then who the animal is, its charts, its health,
//! its journey, and how to check it offline.

use agritrace::{
    AnimalSummary, ProductSummary, STEP_GOAL, SubjectId, Trace, TraceFailure, thousands,
};
use maud::{DOCTYPE, Markup, PreEscaped, html};

use crate::ids::path_of;

/// The page's language.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Lang {
    /// 中文.
    Zh,
    /// English.
    En,
}

impl Lang {
    /// From `?lang=`, else the first of `zh`/`en` in Accept-Language, else Chinese.
    pub fn choose(query: Option<&str>, accept_language: Option<&str>) -> Self {
        match query {
            Some("en") => return Self::En,
            Some("zh") => return Self::Zh,
            _ => {}
        }
        for part in accept_language.unwrap_or("").split(',') {
            let tag = part
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            if tag.starts_with("zh") {
                return Self::Zh;
            }
            if tag.starts_with("en") {
                return Self::En;
            }
        }
        Self::Zh
    }

    /// The language's short code, `zh` or `en` (what the in-browser check's script reads).
    pub(crate) fn short(self) -> &'static str {
        match self {
            Self::Zh => "zh",
            Self::En => "en",
        }
    }

    pub(crate) fn code(self) -> &'static str {
        match self {
            Self::Zh => "zh-CN",
            Self::En => "en",
        }
    }

    pub(crate) fn t(self, zh: &'static str, en: &'static str) -> &'static str {
        match self {
            Self::Zh => zh,
            Self::En => en,
        }
    }
}

pub(crate) const STYLE: &str = r"
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,'Noto Sans CJK SC','Noto Sans SC',sans-serif;color:#1c2420;background:#f4f2ec}
main{max-width:40rem;margin:0 auto;padding:0 .75rem 2rem}
header{background:#233127;color:#fff;padding:.6rem .75rem;display:flex;justify-content:space-between;gap:.5rem;flex-wrap:wrap}
header a{color:#d7e6d9}
.verdict{margin:.75rem 0;padding:.9rem 1rem;border-radius:.6rem;background:#e3f4e6;border:2px solid #2f8a45}
.verdict h1{margin:0;font-size:1.5rem;color:#1f6b34}
.bad{background:#fbe4e1;border-color:#b3261e}.bad h1{color:#b3261e}
section{background:#fff;border-radius:.6rem;padding:.75rem 1rem;margin:.75rem 0;box-shadow:0 1px 2px #0001}
h2{font-size:1.1rem;margin:.2rem 0 .5rem}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem .8rem;margin:0}
dt{color:#5b6760}dd{margin:0;overflow-wrap:anywhere}
ul{padding-left:1.1rem;margin:.3rem 0}li{overflow-wrap:anywhere}
img.chart{width:100%;height:auto;border:1px solid #e5e2da;border-radius:.3rem}
.goal{height:.6rem;background:#e5e2da;border-radius:.3rem;overflow:hidden}.goal span{display:block;height:100%;background:#2f8a45}
.small{font-size:.85rem;color:#5b6760}
.qr svg{width:9rem;height:9rem}
code{overflow-wrap:anywhere;font-size:.85rem}
table.feed{width:100%;border-collapse:collapse}table.feed td{padding:.1rem .3rem}
td.barcell{width:60%}span.bar{display:block;height:.7rem;background:#c58b2b;border-radius:.2rem}
td.num{text-align:right;white-space:nowrap}
";

fn shell(lang: Lang, title: &str, canonical: &str, body: &Markup) -> Markup {
    shell_with(lang, title, canonical, body, false)
}

/// The page frame; `script` adds the in-browser check's script (see `phone`).
fn shell_with(lang: Lang, title: &str, canonical: &str, body: &Markup, script: bool) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) }
                link rel="canonical" href=(canonical);
                style { (PreEscaped(STYLE)) @if script { (PreEscaped(crate::phone::STYLE)) } }
                @if script { script src=(crate::phone::SCRIPT_PATH) defer {} }
            }
            body {
                header {
                    strong { (lang.t("溯源 · agritrace", "agritrace · traceability")) }
                    span {
                        a href="?lang=zh" { "中文" } " · " a href="?lang=en" { "English" }
                    }
                }
                main { (body) }
            }
        }
    }
}

/// A verified trace; `phone` (the pins, when the service serves the in-browser verifier)
/// adds the "check it on this phone" section beside the verdict.
pub fn trace(
    lang: Lang,
    t: &Trace,
    verified_at: &str,
    id: &SubjectId,
    url: &str,
    qr_svg: &str,
    phone: Option<&str>,
) -> Markup {
    let v = &t.verification;
    let path = path_of(id);
    let body = html! {
        div.verdict {
            h1 { "✓ " (lang.t("已验证", "VERIFIED")) }
            p {
                (lang.t("全部记录的签名与链接均通过验证：", "Every record's signature and link checked: "))
                strong { (v.records) } (lang.t(" 条记录，", " records in "))
                strong { (v.chains) } (lang.t(" 条链。", " chains."))
            }
            p.small { (lang.t("验证时间：", "Verified at ")) (verified_at) }
            p.small {
                (lang.t("签名方：", "Signed by: "))
                @for (i, (party, role, n)) in v.signers.iter().enumerate() {
                    @if i > 0 { "; " }
                    (party) " (" (role_name(lang, role)) ", " (n) ")"
                }
            }
        }
        @if let Some(pins) = phone { (crate::phone::section(lang, pins, &format!("/bundle{path}"))) }
        section {
            h2 { (lang.t("ID 的含义", "What the ID says")) }
            dl {
                dt { "ID" } dd { code { (t.id) } }
                @for (k, val) in &t.meaning { dt { (k) } dd { (val) } }
            }
        }
        @for p in &t.product_path { (product_card(lang, p)) }
        @if let Some(a) = &t.animal { (animal(lang, a, &path, !t.product_path.is_empty())) }
        @if !t.products.is_empty() {
            section {
                h2 { (lang.t("由它制成", "Made from it")) }
                ul {
                    @for p in &t.products {
                        li style=(format!("margin-left:{}rem", p.depth.saturating_sub(1))) {
                            (p.product) " · " (kg(p.grams)) " · " (day(lang, p.date))
                            @if let Some((d, buyer, price)) = &p.sale {
                                " · " (lang.t("售出 ", "sold ")) (d) " " (buyer) " ¥" (price)
                            }
                            br; span.small { code { (p.id) } }
                        }
                    }
                }
            }
        }
        section {
            h2 { (lang.t("自己验证", "Check it yourself")) }
            p {
                (lang.t("下载溯源包，用日志公钥离线验证，无需信任本网站：",
                        "Download the trace bundle and verify it offline against the log's key, trusting neither this site nor the shop: "))
                a href=(format!("/bundle{path}")) { (lang.t("溯源包", "trace bundle")) }
            }
            p.small { (v.coverage) }
            div.qr { (PreEscaped(qr_svg)) }
            p.small { code { (url) } }
        }
    };
    shell_with(
        lang,
        &format!("{} — agritrace", t.id),
        url,
        &body,
        phone.is_some(),
    )
}

fn animal(lang: Lang, a: &AnimalSummary, path: &str, traced_back: bool) -> Markup {
    let at_goal = (a.steps.days_at_goal * 100)
        .checked_div(a.steps.days_recorded)
        .unwrap_or(0);
    html! {
        section {
            h2 {
                @if traced_back { (lang.t("来自这头猪 ", "From the animal ")) } @else { (lang.t("这头猪 ", "The animal ")) }
                code { (a.id) }
            }
            dl {
                dt { (lang.t("品种", "Breed")) } dd { (a.breed) }
                dt { (lang.t("性别", "Sex")) } dd { (sex(lang, &a.sex)) }
                dt { (lang.t("出生", "Born")) } dd { (day(lang, a.birth_date)) " · " (a.origin) }
                dt { (lang.t("日龄", "Age")) } dd { (a.age_days) (lang.t(" 天", " days")) " (" (a.last_record) ")" }
                @if let (Some(first), Some(last)) = (a.weights.first(), a.weights.last()) {
                    dt { (lang.t("体重", "Weight")) }
                    dd { (kg(u64::from(first.1))) " → " strong { (kg(u64::from(last.1))) } " (" (a.weights.len()) (lang.t(" 次称重", " weighings")) ")" }
                }
            }
        }
        section {
            h2 { (lang.t("运动与体重", "Exercise and weight")) }
            p {
                (lang.t("每日目标 ", "Daily goal ")) strong { (thousands(u64::from(STEP_GOAL))) } (lang.t(" 步。平均每天 ", " steps. Average ")) strong { (a.steps.average) }
                (lang.t(" 步；", " a day; ")) (a.steps.days_at_goal) " / " (a.steps.days_recorded)
                (lang.t(" 天达标", " days at the goal"))
                @if a.steps.missing_days > 0 { (lang.t("；缺失 ", "; missing ")) (a.steps.missing_days) (lang.t(" 天", " days")) }
            }
            div.goal title=(format!("{at_goal}%")) { span style=(format!("width:{at_goal}%")) {} }
            p { img.chart src=(format!("/chart{path}")) alt=(lang.t("体重与每日步数图", "Weight and daily steps chart")) loading="lazy"; }
            p {
                (lang.t("饲料：共 ", "Feed: ")) strong { (kg(a.feed_grams)) } " — " (a.feed_kinds.join(", "))
            }
            @if a.feed_by_month.len() > 1 {
                @let most = a.feed_by_month.iter().map(|(_, g)| *g).max().unwrap_or(1).max(1);
                table.feed aria-label=(lang.t("每月饲料", "Feed per month")) {
                    @for (month, g) in &a.feed_by_month {
                        tr {
                            td.small { (month) }
                            td.barcell { span.bar style=(format!("width:{}%", g * 100 / most)) {} }
                            td.small.num { (kg(*g)) }
                        }
                    }
                }
            }
        }
        @if !a.treatments.is_empty() || !a.inspections.is_empty() {
            section {
                h2 { (lang.t("健康", "Health")) }
                ul {
                    @for t in &a.treatments {
                        li {
                            (t.date) " " (t.kind) ": " (t.product) " — "
                            (lang.t("休药期 ", "withdrawal ")) (t.withdrawal_days) (lang.t(" 天，至 ", " days, until ")) (t.withdrawal_ends)
                            @match t.respected {
                                Some(true) => { " ✓ " (lang.t("屠宰前已满", "respected before slaughter")) }
                                Some(false) => { strong { " ✗ " (lang.t("屠宰前未满", "NOT respected before slaughter")) } }
                                None => {}
                            }
                        }
                    }
                    @for (d, what) in &a.inspections { li { (d) " " (what) } }
                }
            }
        }
        @if !a.moves.is_empty() || !a.custodians.is_empty() || a.slaughter.is_some() {
            section {
                h2 { (lang.t("旅程", "Journey")) }
                ul {
                    @for (d, from, to) in &a.moves { li { (d) " " (from) " → " (to) } }
                    @for (d, who) in &a.custodians { li { (d) " → " (who) } }
                    @if let Some((d, g)) = &a.slaughter { li { (d) (lang.t(" 屠宰，胴体 ", " slaughter, carcass ")) (kg(u64::from(*g))) } }
                }
            }
        }
    }
}

fn product_card(lang: Lang, p: &ProductSummary) -> Markup {
    html! {
        section {
            h2 { (p.product) }
            dl {
                dt { "ID" } dd { code { (p.id) } }
                dt { (lang.t("净重", "Net weight")) } dd { (kg(p.grams)) }
                dt { (lang.t("日期", "Made")) } dd { (day(lang, p.date)) }
                // A harvest starts a lot: it is made from nothing, and says so by omission.
                @if !p.made_from.is_empty() {
                    dt { (lang.t("来自", "From")) } dd { (p.made_from.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")) }
                }
                @for (d, who) in &p.custodians { dt { (lang.t("交接", "Custody")) } dd { (d) " → " (who) } }
                @if let Some((d, buyer, price)) = &p.sale { dt { (lang.t("售出", "Sold")) } dd { (d) " · " (buyer) " · ¥" (price) } }
            }
        }
    }
}

/// A chain that failed verification: the verdict and the records at fault, nothing else.
pub fn not_verified(lang: Lang, id: &SubjectId, failures: &[TraceFailure], url: &str) -> Markup {
    let body = html! {
        div.verdict.bad {
            h1 { "✗ " (lang.t("未通过验证", "NOT VERIFIED")) }
            p { (lang.t("这些记录未通过验证，本页不显示其内容。出错的记录：",
                        "These records did not verify, so nothing of them is shown. The records at fault:")) }
            ul { @for f in failures { li { code { (f.to_string()) } } } }
        }
        p.small { "ID " code { (id) } }
    };
    shell(lang, &format!("{id} — NOT VERIFIED"), url, &body)
}

/// Store damage found by the trace's bookkeeping check.
pub fn damaged(lang: Lang, id: &SubjectId, what: &str, url: &str) -> Markup {
    let body = html! {
        div.verdict.bad {
            h1 { "✗ " (lang.t("未通过验证", "NOT VERIFIED")) }
            p { (lang.t("存储与其记录不一致：", "The store does not match its own records: ")) (what) }
        }
        p.small { "ID " code { (id) } }
    };
    shell(lang, &format!("{id} — NOT VERIFIED"), url, &body)
}

/// 404 and 400 pages.
pub fn problem(
    lang: Lang,
    heading_zh: &'static str,
    heading_en: &'static str,
    detail: &str,
) -> Markup {
    let body = html! {
        div.verdict.bad {
            h1 { (lang.t(heading_zh, heading_en)) }
            p { (detail) }
            p.small { (lang.t("例如：", "For example: ")) a href="/eartag/161083000001001" { "/eartag/161083000001001" } }
        }
    };
    shell(lang, lang.t(heading_zh, heading_en), "/", &body)
}

/// The start page: a form to look an ID up.
pub fn index(lang: Lang) -> Markup {
    let body = html! {
        section {
            h2 { (lang.t("查询溯源码", "Look up an identity code")) }
            form action="/lookup" method="get" {
                p { input type="text" name="id" placeholder="161083000001001" style="width:100%;font-size:1.1rem;padding:.4rem"; }
                p { button type="submit" { (lang.t("查询", "Trace")) } }
            }
            p.small { (lang.t("耳标号（15 位）、ISO 11784 编码或 GS1 商品批次。", "An ear tag (15 digits), an ISO 11784 code, or a GS1 GTIN + lot.")) }
        }
    };
    shell(lang, "agritrace", "/", &body)
}

fn kg(grams: u64) -> String {
    let tenths = grams.saturating_add(50) / 100;
    format!("{}.{} kg", tenths / 10, tenths % 10)
}

/// A day the records give, or "unknown".
fn day(lang: Lang, d: Option<agritrace::Day>) -> String {
    d.map_or_else(|| lang.t("未知", "unknown").to_owned(), |d| d.to_string())
}

fn sex(lang: Lang, s: &str) -> &str {
    match (lang, s) {
        (Lang::Zh, "female") => "母",
        (Lang::Zh, "male") => "公",
        (Lang::Zh, "castrated male") => "阉公",
        _ => s,
    }
}

fn role_name(lang: Lang, role: &str) -> &str {
    if lang == Lang::En {
        return role;
    }
    match role {
        "Farm" => "养殖场",
        "Device" => "设备",
        "Vet" => "兽医",
        "Transporter" => "运输",
        "Slaughterhouse" => "屠宰场",
        "Processor" => "加工",
        "Retailer" => "零售",
        "Regulator" => "监管",
        other => other,
    }
}
