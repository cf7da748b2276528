//! JSON Web Signature for ACME requests (RFC 8555 §6.2, RFC 7515), JWK
//! thumbprints (RFC 7638) and DNS-01 key authorizations (RFC 8555 §8.1, §8.4).
//! Pure: signing goes through the `Signer` trait, whose real implementation
//! (with its random nonces) lives at the edge in `keys`.

use serde::Serialize;

use crate::{Result, b64};

/// A private key that can sign JWS payloads.
pub trait Signer {
    /// JWS `alg`: `ES256` or `ES384`.
    fn alg(&self) -> &'static str;
    /// The public key as a JWK.
    fn jwk(&self) -> Jwk;
    /// The JWS signature of `data` (for ECDSA, r‖s of fixed length).
    fn sign(&self, data: &[u8]) -> Result<Vec<u8>>;
}

/// An EC public key as a JWK (RFC 7518 §6.2). Field order is the RFC 7638
/// canonical (lexicographic) order, so serialising it gives the thumbprint input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Jwk {
    pub crv: &'static str,
    pub kty: &'static str,
    pub x: String,
    pub y: String,
}

impl Jwk {
    /// From an uncompressed SEC1 point (`04 ‖ x ‖ y`).
    pub fn ec(crv: &'static str, point: &[u8]) -> Jwk {
        let coords = point.get(1..).unwrap_or_default();
        let (x, y) = coords.split_at(coords.len() / 2);
        Jwk {
            crv,
            kty: "EC",
            x: b64::url(x),
            y: b64::url(y),
        }
    }

    /// RFC 7638 thumbprint, base64url of SHA-256 of the canonical JSON.
    pub fn thumbprint(&self) -> String {
        thumbprint_of(&serde_json::to_string(self).unwrap_or_default())
    }
}

/// SHA-256 thumbprint of an already canonical JWK JSON text.
fn thumbprint_of(canonical: &str) -> String {
    b64::url(ring::digest::digest(&ring::digest::SHA256, canonical.as_bytes()).as_ref())
}

/// How the request names its key: the whole JWK (newAccount, revocation by
/// certificate key) or the account URL (everything else).
pub enum KeyId<'a> {
    Jwk,
    Kid(&'a str),
}

#[derive(Serialize)]
struct Protected<'a> {
    alg: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    jwk: Option<Jwk>,
    #[serde(skip_serializing_if = "Option::is_none")]
    kid: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    nonce: Option<&'a str>,
    url: &'a str,
}

/// A JWS in flattened JSON serialization (RFC 7515 §7.2.2).
#[derive(Serialize)]
pub struct Flattened {
    protected: String,
    payload: String,
    signature: String,
}

impl Flattened {
    /// Sign `header` and `payload` with `sign` (which gets the JWS signing
    /// input, `protected.payload`).
    fn new(
        header: &impl Serialize,
        payload: &[u8],
        sign: impl FnOnce(&[u8]) -> Result<Vec<u8>>,
    ) -> Result<Flattened> {
        let protected = b64::url(&serde_json::to_vec(header).unwrap_or_default());
        let payload = b64::url(payload);
        let signature = b64::url(&sign(format!("{protected}.{payload}").as_bytes())?);
        Ok(Flattened {
            protected,
            payload,
            signature,
        })
    }
}

/// Build a flattened JWS JSON body (RFC 8555 §6.2). `payload` is `None` for
/// POST-as-GET (§6.3), whose payload is the empty string.
pub fn sign(
    key: &dyn Signer,
    id: KeyId<'_>,
    nonce: Option<&str>,
    url: &str,
    payload: Option<&[u8]>,
) -> Result<Vec<u8>> {
    let (jwk, kid) = match id {
        KeyId::Jwk => (Some(key.jwk()), None),
        KeyId::Kid(kid) => (None, Some(kid)),
    };
    let header = Protected {
        alg: key.alg(),
        jwk,
        kid,
        nonce,
        url,
    };
    let jws = Flattened::new(&header, payload.unwrap_or_default(), |d| key.sign(d))?;
    Ok(serde_json::to_vec(&jws).unwrap_or_default())
}

/// RFC 8555 §7.3.5: the inner JWS of a key change, signed by the new key,
/// with its JWK and no nonce; the payload names the account and its old key.
pub fn key_change_inner(
    new_key: &dyn Signer,
    url: &str,
    account: &str,
    old_key: &Jwk,
) -> Result<Flattened> {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct KeyChange<'a> {
        account: &'a str,
        old_key: &'a Jwk,
    }
    let header = Protected {
        alg: new_key.alg(),
        jwk: Some(new_key.jwk()),
        kid: None,
        nonce: None,
        url,
    };
    let payload = serde_json::to_vec(&KeyChange { account, old_key }).unwrap_or_default();
    Flattened::new(&header, &payload, |d| new_key.sign(d))
}

/// RFC 8555 §7.3.4: the `externalAccountBinding` of a newAccount request, a
/// JWS over the account's public key, MACed (HS256) with the key the CA
/// gave for `kid`. `hmac_key` is the raw key (the CA hands it out base64url).
pub fn eab(kid: &str, hmac_key: &[u8], url: &str, account_key: &Jwk) -> Result<Flattened> {
    #[derive(Serialize)]
    struct Header<'a> {
        alg: &'static str,
        kid: &'a str,
        url: &'a str,
    }
    let header = Header {
        alg: "HS256",
        kid,
        url,
    };
    let payload = serde_json::to_vec(account_key).unwrap_or_default();
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, hmac_key);
    Flattened::new(&header, &payload, |d| {
        Ok(ring::hmac::sign(&key, d).as_ref().to_vec())
    })
}

/// RFC 8555 §8.1 key authorization: `token.thumbprint`.
pub fn key_authorization(token: &str, jwk: &Jwk) -> String {
    format!("{token}.{}", jwk.thumbprint())
}

/// RFC 8555 §8.4: the TXT value for a dns-01 challenge.
pub fn dns01_value(key_authorization: &str) -> String {
    b64::url(ring::digest::digest(&ring::digest::SHA256, key_authorization.as_bytes()).as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 7638 §3.1: the RSA example key and its thumbprint.
    #[test]
    fn rfc7638_thumbprint() {
        let n = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
        let canonical = format!(r#"{{"e":"AQAB","kty":"RSA","n":"{n}"}}"#);
        assert_eq!(
            thumbprint_of(&canonical),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }

    /// RFC 7515 Appendix A.3's P-256 key, with ring doing the signing.
    struct A3(ring::signature::EcdsaKeyPair);

    fn a3() -> A3 {
        let d = b64::decode("jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI").unwrap();
        let x = b64::decode("f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU").unwrap();
        let y = b64::decode("x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0").unwrap();
        let point: Vec<u8> = [&[4u8][..], &x, &y].concat();
        let alg = &ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING;
        let rng = ring::rand::SystemRandom::new();
        A3(
            ring::signature::EcdsaKeyPair::from_private_key_and_public_key(alg, &d, &point, &rng)
                .unwrap(),
        )
    }

    impl Signer for A3 {
        fn alg(&self) -> &'static str {
            "ES256"
        }
        fn jwk(&self) -> Jwk {
            use ring::signature::KeyPair;
            Jwk::ec("P-256", self.0.public_key().as_ref())
        }
        fn sign(&self, data: &[u8]) -> Result<Vec<u8>> {
            Ok(self
                .0
                .sign(&ring::rand::SystemRandom::new(), data)
                .unwrap()
                .as_ref()
                .to_vec())
        }
    }

    #[test]
    fn jwk_of_rfc7515_a3_key() {
        let jwk = a3().jwk();
        assert_eq!(jwk.x, "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU");
        assert_eq!(jwk.y, "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0");
        assert_eq!(
            serde_json::to_string(&jwk).unwrap(),
            r#"{"crv":"P-256","kty":"EC","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}"#
        );
    }

    #[test]
    fn signed_request_verifies_and_carries_the_header() {
        let key = a3();
        let body = sign(
            &key,
            KeyId::Kid("https://ca/acct/1"),
            Some("n0nce"),
            "https://ca/new-order",
            Some(b"{}"),
        )
        .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let protected = v["protected"].as_str().unwrap();
        let header: serde_json::Value =
            serde_json::from_slice(&b64::decode(protected).unwrap()).unwrap();
        assert_eq!(
            header,
            serde_json::json!({"alg":"ES256","kid":"https://ca/acct/1","nonce":"n0nce","url":"https://ca/new-order"})
        );
        assert_eq!(v["payload"], b64::url(b"{}"));
        let signed = format!("{protected}.{}", v["payload"].as_str().unwrap());
        let sig = b64::decode(v["signature"].as_str().unwrap()).unwrap();
        assert_eq!(sig.len(), 64);
        let jwk = key.jwk();
        let point = [
            &[4u8][..],
            &b64::decode(&jwk.x).unwrap(),
            &b64::decode(&jwk.y).unwrap(),
        ]
        .concat();
        ring::signature::UnparsedPublicKey::new(&ring::signature::ECDSA_P256_SHA256_FIXED, point)
            .verify(signed.as_bytes(), &sig)
            .expect("signature verifies");
    }

    #[test]
    fn post_as_get_has_empty_payload_and_jwk_form() {
        let body = sign(&a3(), KeyId::Jwk, None, "https://ca/acct", None).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["payload"], "");
        let header: serde_json::Value =
            serde_json::from_slice(&b64::decode(v["protected"].as_str().unwrap()).unwrap())
                .unwrap();
        assert_eq!(header["jwk"]["kty"], "EC");
        assert!(header.get("kid").is_none() && header.get("nonce").is_none());
    }

    // RFC 8555 §8.1 defines the key authorization; RFC 8555 §8.4 its digest.
    #[test]
    fn dns01_value_is_digest_of_key_authorization() {
        let ka = key_authorization("evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA", &a3().jwk());
        assert!(ka.starts_with("evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA."));
        // SHA-256("abc"), FIPS 180-2 example, in base64url.
        assert_eq!(
            dns01_value("abc"),
            "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0"
        );
        assert_eq!(dns01_value(&ka).len(), 43);
    }

    fn decode_json(part: &serde_json::Value) -> serde_json::Value {
        serde_json::from_slice(&b64::decode(part.as_str().unwrap()).unwrap()).unwrap()
    }

    // RFC 8555 §7.3.5: inner JWS with the new key's JWK, no nonce, and a
    // payload naming the account and the old key; it verifies with the new key.
    #[test]
    fn key_change_inner_jws() {
        let new_key = a3();
        let old = Jwk {
            crv: "P-256",
            kty: "EC",
            x: "oldx".into(),
            y: "oldy".into(),
        };
        let inner = key_change_inner(
            &new_key,
            "https://example.com/acme/key-change",
            "https://example.com/acme/acct/evOfKhNU60wg",
            &old,
        )
        .unwrap();
        let v = serde_json::to_value(&inner).unwrap();
        let header = decode_json(&v["protected"]);
        assert_eq!(
            header,
            serde_json::json!({"alg":"ES256","jwk":serde_json::to_value(new_key.jwk()).unwrap(),
                "url":"https://example.com/acme/key-change"})
        );
        assert_eq!(
            decode_json(&v["payload"]),
            serde_json::json!({"account":"https://example.com/acme/acct/evOfKhNU60wg",
                "oldKey":{"crv":"P-256","kty":"EC","x":"oldx","y":"oldy"}})
        );
        let jwk = new_key.jwk();
        let point = [
            &[4u8][..],
            &b64::decode(&jwk.x).unwrap(),
            &b64::decode(&jwk.y).unwrap(),
        ]
        .concat();
        let signed = format!(
            "{}.{}",
            v["protected"].as_str().unwrap(),
            v["payload"].as_str().unwrap()
        );
        ring::signature::UnparsedPublicKey::new(&ring::signature::ECDSA_P256_SHA256_FIXED, point)
            .verify(
                signed.as_bytes(),
                &b64::decode(v["signature"].as_str().unwrap()).unwrap(),
            )
            .expect("the inner JWS verifies with the new key");
    }

    // RFC 8555 §7.3.4: HS256 over `protected.payload`, payload = the account JWK.
    #[test]
    fn eab_is_hs256_over_the_account_jwk() {
        let jwk = a3().jwk();
        let key = b"0123456789abcdef0123456789abcdef";
        let v =
            serde_json::to_value(eab("kid-1", key, "https://ca/new-acct", &jwk).unwrap()).unwrap();
        assert_eq!(
            decode_json(&v["protected"]),
            serde_json::json!({"alg":"HS256","kid":"kid-1","url":"https://ca/new-acct"})
        );
        assert_eq!(
            decode_json(&v["payload"]),
            serde_json::to_value(&jwk).unwrap()
        );
        let input = format!(
            "{}.{}",
            v["protected"].as_str().unwrap(),
            v["payload"].as_str().unwrap()
        );
        let mac = b64::decode(v["signature"].as_str().unwrap()).unwrap();
        ring::hmac::verify(
            &ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key),
            input.as_bytes(),
            &mac,
        )
        .expect("the MAC verifies");
        let other = serde_json::to_value(
            eab("kid-1", b"another key", "https://ca/new-acct", &jwk).unwrap(),
        )
        .unwrap();
        assert_ne!(other["signature"], v["signature"]);
    }
}
