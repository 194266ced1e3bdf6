//! Quick start: sign a short pig history, verify it, then show that an edit is caught.
//!
//! `cargo run --example quickstart`

#![allow(clippy::print_stdout, reason = "an example prints its report")]

use agritrace::{
    Chain, Day, Event, KeyGrant, Policy, Registration, Role, Sex, Signer, Species, SubjectId, Text,
    Timestamp, TreatmentKind, TrustStore, Verifier,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let farm = Signer::from_seed([0x11; 32]);
    let gateway = Signer::from_seed([0x22; 32]);
    let vet = Signer::from_seed([0x33; 32]);
    let since = Timestamp::from_millis(0);
    let mut trust = TrustStore::new();
    trust.add(
        farm.public_key(),
        KeyGrant::new(
            Text::new("Qingjian Black Pig Cooperative")?,
            Role::Farm,
            since,
        ),
    )?;
    trust.add(
        gateway.public_key(),
        KeyGrant::new(Text::new("pen 3 pedometer gateway")?, Role::Device, since),
    )?;
    trust.add(
        vet.public_key(),
        KeyGrant::new(Text::new("Dr. Li, county clinic")?, Role::Vet, since),
    )?;

    let pig: SubjectId = "eartag:161083000000042".parse()?;
    let born = Day::from_ymd(2026, 3, 1).ok_or("date")?;
    let mut chain = Chain::new(pig.clone());
    let mut records = vec![chain.append(
        &farm,
        Timestamp::at_start_of(born),
        Event::Registration(Box::new(Registration {
            species: Species::Pig,
            breed: Text::new("Bamei")?,
            sex: Sex::Castrated,
            birth_date: born,
            origin_site: Text::new("Qingjian farm 2")?,
            dam: None,
            sire: None,
        })),
    )?];
    for d in 1..=7 {
        let day = Day::from_days_since_epoch(born.days_since_epoch() + d);
        records.push(chain.append(
            &gateway,
            Timestamp::at_start_of(day),
            Event::DailyActivity {
                day,
                steps: 4_000 + 150 * u32::try_from(d)?,
                device: Text::new("PD-0042")?,
            },
        )?);
    }
    records.push(chain.append(
        &vet,
        Timestamp::at_start_of(Day::from_days_since_epoch(born.days_since_epoch() + 8)),
        Event::Treatment {
            kind: TreatmentKind::Vaccination,
            product: Text::new("classical swine fever vaccine")?,
            withdrawal_days: 28,
        },
    )?);

    let policy = Policy::livestock();
    let verifier = Verifier::new(&trust, &policy);
    let chain_ok = verifier.verify_chain(&pig, &records)?;
    println!(
        "{pig}: {} records verified, tip {}",
        chain_ok.len(),
        chain_ok.tip().ok_or("empty")?
    );

    // Flip one bit of the vaccination record's body: the verifier names the record.
    let mut body = records[8].body().to_vec();
    body[40] ^= 0x01;
    records[8] = agritrace::SignedRecord::from_parts(body, *records[8].signature());
    match verifier.verify_chain(&pig, &records) {
        Ok(_) => return Err("tampering went unnoticed".into()),
        Err(e) => println!("tampered copy rejected: {e}"),
    }
    Ok(())
}
