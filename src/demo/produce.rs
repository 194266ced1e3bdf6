//! What the demo makes from its pigs (cuts and packs) and its other lots.

use crate::chain::Chain;
use crate::event::{Event, LineageRef};
use crate::record::SignedRecord;
use crate::signing::Signer;
use crate::time::{Day, Timestamp};

use super::{DemoConfig, DemoKeys, Out, PigLife, lot, text};

/// Chestnut and honey lots, and a honey blend made from two honey lots.
pub(super) fn produce(cfg: &DemoConfig, keys: &DemoKeys) -> Vec<SignedRecord> {
    let mut out = Out(Vec::new());
    let farm = &keys.farms[0];
    let autumn = cfg.start.days_since_epoch() + 200;
    let mut push =
        |chain: &mut Chain, s: &Signer, t: Timestamp, e: Option<Event>| out.push(chain, s, t, e);
    let mut honey_tips = Vec::new();
    for n in 1..=3u32 {
        let day = Day::from_days_since_epoch(autumn + i32::try_from(n).unwrap_or(0));
        let Some(id) = lot(21, &format!("CHESTNUT-{n:02}")) else {
            continue;
        };
        let mut c = Chain::new(id);
        push(
            &mut c,
            farm,
            PigLife::at(day, 15),
            harvest(
                "chestnuts 板栗",
                "Qingjian orchard 5",
                800_000 + 100_000 * u64::from(n),
            ),
        );
        push(
            &mut c,
            &keys.transporter,
            PigLife::at(day, 20),
            text("Xi'an Qujiang Market").map(|to_party| Event::CustodyTransfer { to_party }),
        );
        push(
            &mut c,
            &keys.retailer,
            PigLife::at(Day::from_days_since_epoch(autumn + 10), 12),
            text("Xi'an Qujiang Market").map(|buyer| Event::Sale {
                buyer,
                price_fen: 1_600_000,
            }),
        );
        let Some(hid) = lot(31, &format!("HONEY-{n:02}")) else {
            continue;
        };
        let mut h = Chain::new(hid.clone());
        let hday = Day::from_days_since_epoch(autumn - 60 + i32::try_from(n).unwrap_or(0));
        push(
            &mut h,
            farm,
            PigLife::at(hday, 10),
            harvest("jujube blossom honey 枣花蜜", "Qingjian apiary 2", 120_000),
        );
        if let Some(tip) = h.tip() {
            honey_tips.push(LineageRef {
                subject: hid,
                record: tip,
            });
        }
    }
    if let Some(blend) = lot(32, "HONEY-BLEND-01") {
        let mut b = Chain::new(blend);
        let day = Day::from_days_since_epoch(autumn - 50);
        push(
            &mut b,
            &keys.processor,
            PigLife::at(day, 9),
            text("blended honey").map(|product| Event::Transformation {
                parents: honey_tips.clone(),
                product,
                grams: 300_000,
            }),
        );
        push(
            &mut b,
            &keys.processor,
            PigLife::at(day, 12),
            text("moisture test pending").map(|reason| Event::Recall {
                kind: crate::event::RecallKind::Hold,
                reason,
            }),
        );
    }
    out.0
}

/// A harvest of `grams` of `crop` at `site` (`None` only for text the demo cannot hold).
fn harvest(crop: &str, site: &str, grams: u64) -> Option<Event> {
    text(crop)
        .zip(text(site))
        .map(|(crop, site)| Event::Harvest { crop, site, grams })
}
