//! `sohoa serve --tls-cert --tls-key`: HTTPS with HSTS, checked with curl (a client that is
//! not ours), and a client that never finishes its handshake holds up nobody.

use std::process::Command;

use crate::helpers::*;

fn self_signed(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let out = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
            "-keyout",
        ])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (cert, key)
}

fn curl(args: &[&str]) -> (bool, String) {
    let out = Command::new("curl")
        .args(["-sS", "-i", "--max-time", "10"])
        .args(args)
        .output()
        .expect("curl");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[tokio::test]
async fn https_is_served_with_hsts_and_a_stalled_handshake_blocks_nobody() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = self_signed(dir.path());
    let app = spawn_app_with(Options {
        tls: Some((cert.clone(), key)),
        ..Options::default()
    })
    .await;
    // A client that connects and says nothing.
    let _idle = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let url = format!("https://127.0.0.1:{}/healthz", app.addr.port());
    let cacert = cert.to_str().unwrap().to_owned();
    let (ok, out) = tokio::task::spawn_blocking({
        let url = url.clone();
        let cacert = cacert.clone();
        move || curl(&["--cacert", &cacert, &url])
    })
    .await
    .unwrap();
    assert!(ok, "{out}");
    assert!(out.starts_with("HTTP/"), "{out}");
    assert!(out.contains(" 200"), "{out}");
    assert!(
        out.to_ascii_lowercase()
            .contains("strict-transport-security: max-age=31536000; includesubdomains"),
        "{out}"
    );
    // Without trusting the certificate, curl refuses; plain HTTP gets no answer.
    let (ok, _) = tokio::task::spawn_blocking({
        let url = url.clone();
        move || curl(&[&url])
    })
    .await
    .unwrap();
    assert!(!ok);
    let plain = format!("http://127.0.0.1:{}/healthz", app.addr.port());
    let (ok, out) = tokio::task::spawn_blocking(move || curl(&[&plain]))
        .await
        .unwrap();
    assert!(!ok || !out.contains(" 200"), "{out}");
    // Plain HTTP servers say nothing of HSTS.
    let http = spawn_app().await;
    let res = http.get("/healthz").await;
    assert!(res.headers().get("strict-transport-security").is_none());
}

#[test]
fn a_certificate_without_its_key_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, _) = self_signed(dir.path());
    let out = Command::new(env!("CARGO_BIN_EXE_sohoa"))
        .args(["serve", "--listen", "127.0.0.1:0", "--tls-cert"])
        .arg(&cert)
        .env("SOHOA_DATA_DIR", dir.path().join("data"))
        .env_remove("SOHOA_CONFIG")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A key file that is not a key.
    let out = Command::new(env!("CARGO_BIN_EXE_sohoa"))
        .args(["serve", "--listen", "127.0.0.1:0", "--tls-cert"])
        .arg(&cert)
        .arg("--tls-key")
        .arg(&cert)
        .env("SOHOA_DATA_DIR", dir.path().join("data"))
        .env_remove("SOHOA_CONFIG")
        .output()
        .unwrap();
    assert_ne!(out.status.code(), Some(0));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("private key"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
