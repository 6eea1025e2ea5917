//! A private key that only its holder's password opens: AES-256-GCM under a key derived
//! from the password by Argon2id, with a salt and nonce of its own. What a remote signing
//! service keeps for each person (sealed once more under the server's keyring): a copy of
//! the database alone signs nothing.

use argon2::Argon2;
use base64::Engine;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD_NO_PAD;
const VERSION: &str = "pw1";

fn derive(password: &str, salt: &[u8]) -> Option<LessSafeKey> {
    let mut key = [0u8; 32];
    Argon2::default()
        .hash_password_into(password.as_bytes(), salt, &mut key)
        .ok()?;
    UnboundKey::new(&AES_256_GCM, &key)
        .ok()
        .map(LessSafeKey::new)
}

/// `secret` wrapped under `password`, as text: `pw1$salt$nonce$ciphertext`.
pub fn wrap(secret: &[u8], password: &str) -> Option<String> {
    let salt = crate::random::<16>().ok()?;
    let nonce = crate::random::<12>().ok()?;
    let key = derive(password, &salt)?;
    let mut sealed = secret.to_vec();
    key.seal_in_place_append_tag(
        Nonce::assume_unique_for_key(nonce),
        Aad::from(VERSION.as_bytes()),
        &mut sealed,
    )
    .ok()?;
    Some(format!(
        "{VERSION}${}${}${}",
        B64.encode(salt),
        B64.encode(nonce),
        B64.encode(sealed)
    ))
}

/// The secret, when `password` is the one it was wrapped under; `None` otherwise.
pub fn unwrap(wrapped: &str, password: &str) -> Option<Vec<u8>> {
    let mut parts = wrapped.split('$');
    if parts.next() != Some(VERSION) {
        return None;
    }
    let salt = B64.decode(parts.next()?).ok()?;
    let nonce: [u8; 12] = B64.decode(parts.next()?).ok()?.try_into().ok()?;
    let mut sealed = B64.decode(parts.next()?).ok()?;
    let key = derive(password, &salt)?;
    let plain = key
        .open_in_place(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(VERSION.as_bytes()),
            &mut sealed,
        )
        .ok()?;
    Some(plain.to_vec())
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_the_password_opens_it() {
        let w = super::wrap(b"the key", "mật khẩu đúng").unwrap();
        assert_eq!(
            super::unwrap(&w, "mật khẩu đúng").as_deref(),
            Some(&b"the key"[..])
        );
        assert_eq!(super::unwrap(&w, "mat khau sai"), None);
        assert_eq!(super::unwrap("pw1$x$y$z", "x"), None);
        assert_ne!(
            super::wrap(b"the key", "a").unwrap(),
            super::wrap(b"the key", "a").unwrap()
        );
    }
}
