//! Citizens sign in through a real OpenID Connect provider (`tests/oidc/provider.mjs`, the
//! `oidc-provider` npm package) started by the test: authorization code flow with PKCE,
//! the ID token checked, the CCCD claim mapped to the citizen.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use crate::helpers::*;

const MAI: &str = "079185001234";

/// The provider's directory, with its npm dependencies installed (once per test run).
fn provider_dir() -> std::path::PathBuf {
    static INSTALLED: std::sync::Mutex<bool> = std::sync::Mutex::new(false);
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oidc");
    let mut done = INSTALLED.lock().unwrap_or_else(|p| p.into_inner());
    if !*done && !dir.join("node_modules/oidc-provider").exists() {
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--prefix"])
            .arg(&dir)
            .status()
            .expect("npm (Node.js) is needed for the OpenID Connect test");
        assert!(status.success(), "npm ci failed");
    }
    *done = true;
    dir
}

struct Provider {
    child: Child,
    issuer: String,
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_provider(redirect: &str, cccd: &str) -> Provider {
    let dir = provider_dir();
    let mut child = Command::new("node")
        .arg(dir.join("provider.mjs"))
        .env("OIDC_PORT", "0")
        .env("OIDC_CLIENT_ID", "sohoa")
        .env("OIDC_CLIENT_SECRET", "provider-secret-for-tests")
        .env("OIDC_REDIRECT_URI", redirect)
        .env("OIDC_SUB", "vneid-user-1")
        .env("OIDC_CCCD", cccd)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("node");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let issuer = line
        .trim()
        .strip_prefix("listening ")
        .unwrap_or_else(|| panic!("provider said {line:?}"))
        .to_owned();
    Provider { child, issuer }
}

/// Cookies of one host, the newest value of a name winning.
#[derive(Default)]
struct Jar(BTreeMap<String, String>);

impl Jar {
    fn keep(&mut self, h: &reqwest::header::HeaderMap) {
        for v in h
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
        {
            if let Some((name, rest)) = v.split_once('=') {
                let value = rest.split(';').next().unwrap_or_default().to_owned();
                if value.is_empty() || v.contains("Max-Age=0") {
                    self.0.remove(name);
                } else {
                    self.0.insert(name.to_owned(), value);
                }
            }
        }
    }
    fn header(&self) -> String {
        self.0
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

async fn get(client: &reqwest::Client, url: &str, jar: &mut Jar) -> (u16, String, String) {
    let res = client
        .get(url)
        .header("cookie", jar.header())
        .send()
        .await
        .unwrap();
    jar.keep(res.headers());
    let status = res.status().as_u16();
    let location = res
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (status, location, res.text().await.unwrap_or_default())
}

/// Runs the browser's part of a sign-in: from our `/login/oidc` through the provider and
/// back to our callback, whose URL is returned (not yet visited).
async fn through_provider(app: &TestApp, ours: &mut Jar, issuer: &str) -> String {
    let (s, mut location, _) = get(&app.client, &app.url("/login/oidc?next=%2Fme"), ours).await;
    assert_eq!(s, 303);
    assert!(
        location.starts_with(&format!("{issuer}/auth?")),
        "{location}"
    );
    for want in [
        "code_challenge_method=S256",
        "code_challenge=",
        "nonce=",
        "state=",
        "scope=openid+cccd",
    ] {
        assert!(location.contains(want), "{want} missing in {location}");
    }
    let mut theirs = Jar::default();
    let callback = app.url("/auth/oidc/callback");
    for _ in 0..10 {
        if location.starts_with(&callback) {
            return location;
        }
        let url = if location.starts_with('/') {
            format!("{issuer}{location}")
        } else {
            location.clone()
        };
        let (s, next, body) = get(&app.client, &url, &mut theirs).await;
        assert!((300..400).contains(&s), "{s} at {url}: {body}");
        location = next;
    }
    panic!("the provider never sent the browser back");
}

#[tokio::test]
async fn citizens_sign_in_through_the_identity_provider() {
    let listener = bind_local();
    let port = listener.local_addr().unwrap().port();
    let redirect = format!("http://127.0.0.1:{port}/auth/oidc/callback");
    let provider = start_provider(&redirect, MAI);
    let app = spawn_app_with(Options {
        listener: Some(listener),
        oidc: Some(sohoa_web::oidc::OidcConfig {
            issuer: provider.issuer.clone(),
            client_id: "sohoa".into(),
            client_secret: "provider-secret-for-tests".into(),
            redirect_url: redirect.clone(),
            cccd_claim: "cccd".into(),
            scopes: "openid cccd".into(),
        }),
        ..Options::default()
    })
    .await;
    // The sign-in page offers the provider.
    let (_, _, page) = get(&app.client, &app.url("/login"), &mut Jar::default()).await;
    assert!(page.contains("/login/oidc?next="), "{page}");

    // Mai is not in the registry yet: the provider vouches for her, the city does not know her.
    let mut ours = Jar::default();
    let callback = through_provider(&app, &mut ours, &provider.issuer).await;
    let (s, _, body) = get(&app.client, &callback, &mut ours).await;
    assert_eq!(s, 403, "{body}");
    assert!(body.contains("unknown_citizen"));

    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("c.csv");
    std::fs::write(
        &csv,
        format!("citizen_id,full_name,date_of_birth,sex,permanent_street,permanent_unit\n{MAI},Nguyễn Thị Mai,1985-03-14,female,12 Lê Lợi,26743\n"),
    )
    .unwrap();
    run_cli_ok(&app.db, &["import", "citizens", csv.to_str().unwrap()]).await;

    let mut ours = Jar::default();
    let callback = through_provider(&app, &mut ours, &provider.issuer).await;
    // The callback only works in the browser that started the sign-in.
    let (s, _, _) = get(&app.client, &callback, &mut Jar::default()).await;
    assert_eq!(s, 401);
    let (s, location, _) = get(&app.client, &callback, &mut ours).await;
    assert_eq!((s, location.as_str()), (303, "/me"));
    assert!(ours.0.contains_key("__Host-sohoa_session"));
    let (s, _, me) = get(&app.client, &app.url("/me"), &mut ours).await;
    assert_eq!(s, 200);
    assert!(me.contains("Nguyễn Thị Mai"), "{me}");
    // A replayed callback finds nothing: the state was spent.
    let mut replay = Jar::default();
    replay.0.extend(ours.0.clone());
    let (s, _, body) = get(&app.client, &callback, &mut replay).await;
    assert_eq!(s, 401);
    assert!(body.contains("oidc_failed"));

    // Every attempt is audited; the account opened for her has no usable password.
    let entries = sohoa_storage::audit::entries_for_object(app.server_db(), "account", MAI, 10)
        .await
        .unwrap();
    let outcomes: Vec<_> = entries
        .iter()
        .filter(|e| e.record.action == "auth.login")
        .map(|e| (e.record.outcome.as_str(), e.record.fields.clone()))
        .collect();
    assert_eq!(
        outcomes,
        vec![
            ("success", vec!["oidc".to_owned()]),
            ("denied", vec!["oidc".to_owned()])
        ]
    );
    let res = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .json(&serde_json::json!({"citizen_id": MAI, "password": "!oidc-!oidc-!oidc"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
}

#[tokio::test]
async fn an_unreachable_provider_is_a_clear_503() {
    // Port 1 (tcpmux): nothing listens there, and no test binds it. A port freed after
    // binding could be taken by another test's server in the meantime.
    let app = spawn_app_with(Options {
        oidc: Some(sohoa_web::oidc::OidcConfig {
            issuer: "http://127.0.0.1:1".into(),
            client_id: "sohoa".into(),
            client_secret: "x".into(),
            redirect_url: "http://127.0.0.1:1/auth/oidc/callback".into(),
            cccd_claim: "cccd".into(),
            scopes: "openid cccd".into(),
        }),
        ..Options::default()
    })
    .await;
    let (s, _, body) = get(&app.client, &app.url("/login/oidc"), &mut Jar::default()).await;
    assert_eq!(s, 503);
    assert!(body.contains("oidc_unavailable"));
    // Without a provider configured, there is no such sign-in at all.
    let plain = spawn_app().await;
    assert_eq!(
        get(
            &plain.client,
            &plain.url("/login/oidc"),
            &mut Jar::default()
        )
        .await
        .0,
        404
    );
}
