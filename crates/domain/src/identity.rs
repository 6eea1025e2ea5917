//! Accounts' secrets: passwords hashed with Argon2id, session tokens stored as digests.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("a password has 10 to 128 characters")]
    Length,
    #[error("the password could not be hashed")]
    Hash,
}

/// Checks the length rule: long enough to resist guessing, short enough that hashing a
/// hostile input stays cheap.
pub fn check_password(password: &str) -> Result<(), PasswordError> {
    if !(10..=128).contains(&password.chars().count()) {
        return Err(PasswordError::Length);
    }
    Ok(())
}

/// Whether two secrets' digests are equal, in time that does not depend on where they
/// differ: an answer's timing says nothing of the secret presented.
pub fn equal_in_constant_time(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The PHC string of an Argon2id hash (the library's defaults: 19 MiB, 2 passes), salted
/// with `salt` (16 random bytes from the caller: this crate does no I/O).
pub fn hash_password(password: &str, salt: &[u8; 16]) -> Result<String, PasswordError> {
    check_password(password)?;
    let salt = SaltString::encode_b64(salt).map_err(|_| PasswordError::Hash)?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|_| PasswordError::Hash)
}

/// Whether `password` matches a stored PHC string; a malformed string matches nothing.
pub fn verify_password(password: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// A member of staff's sign-in name: 3 to 32 lower-case ASCII letters, digits, dots,
/// hyphens or underscores, starting with a letter (so it can never be mistaken for a CCCD).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Username(String);

impl Username {
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        let ok = (3..=64).contains(&s.len())
            && s.starts_with(|c: char| c.is_ascii_lowercase())
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
        ok.then(|| Self(s.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The agency whose namespace the name is in, if its last dotted part reads as an
    /// agency's code: `tran.binh.so-y-te` is in SO-Y-TE's. Whether that agency exists is
    /// for the caller to look up.
    pub fn agency_part(&self) -> Option<crate::agency::AgencyCode> {
        let (_, last) = self.0.rsplit_once('.')?;
        crate::agency::AgencyCode::parse(&last.to_ascii_uppercase()).ok()
    }

    /// The suffix that puts a name in `agency`'s namespace.
    pub fn suffix_of(agency: &crate::agency::AgencyCode) -> String {
        format!(".{}", agency.as_str().to_ascii_lowercase())
    }
}

impl std::fmt::Display for Username {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_lower_case_and_never_look_like_a_cccd() {
        assert!(Username::parse("nguyen.an").is_some());
        assert!(Username::parse("can-bo_01").is_some());
        for bad in [
            "",
            "ab",
            "079185001234",
            "1abc",
            "Nguyen",
            "nguyễn",
            "a b c",
            &"a".repeat(65),
        ] {
            assert!(Username::parse(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn a_name_ending_in_an_agency_code_is_in_that_agency_namespace() {
        let part = |s: &str| Username::parse(s).and_then(|u| u.agency_part());
        assert_eq!(part("tran.binh.so-y-te").unwrap().as_str(), "SO-Y-TE");
        assert_eq!(part("an.ubnd-26743").unwrap().as_str(), "UBND-26743");
        assert_eq!(part("quantri").map(|a| a.to_string()), None);
        assert_eq!(part("nv.-x").map(|a| a.to_string()), None);
        let agency = crate::agency::AgencyCode::parse("SO-Y-TE").unwrap();
        assert_eq!(Username::suffix_of(&agency), ".so-y-te");
    }

    #[test]
    fn digests_compare_whole() {
        assert!(equal_in_constant_time(b"abc", b"abc"));
        assert!(!equal_in_constant_time(b"abc", b"abd"));
        assert!(!equal_in_constant_time(b"abc", b"ab"));
    }

    #[test]
    fn hashes_verify_only_their_password_and_are_argon2id() {
        let h = hash_password("correct horse battery", &[7; 16]).unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", &h));
        assert!(!verify_password("correct horse batterz", &h));
        assert!(!verify_password("correct horse battery", "not a hash"));
        assert_eq!(hash_password("short", &[7; 16]), Err(PasswordError::Length));
        assert_ne!(h, hash_password("correct horse battery", &[8; 16]).unwrap());
    }
}
