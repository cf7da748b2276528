//! The randomness seam: key generation and ECDSA signing (whose nonces are
//! random). Keys are stored as PKCS#8 PEM.

use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, KeyPair};

use crate::acme::jws::{Jwk, Signer};
use crate::config::KeyType;
use crate::{Error, Result, pem};

impl KeyType {
    /// The ECDSA algorithm, `None` for RSA.
    fn ring_alg(self) -> Option<&'static signature::EcdsaSigningAlgorithm> {
        match self {
            KeyType::Ec256 => Some(&signature::ECDSA_P256_SHA256_FIXED_SIGNING),
            KeyType::Ec384 => Some(&signature::ECDSA_P384_SHA384_FIXED_SIGNING),
            KeyType::Rsa2048 | KeyType::Rsa3072 | KeyType::Rsa4096 => None,
        }
    }
}

/// A new private key as PKCS#8 PEM.
pub fn generate(kind: KeyType) -> Result<String> {
    let Some(alg) = kind.ring_alg() else {
        return generate_rsa(kind);
    };
    let doc = EcdsaKeyPair::generate_pkcs8(alg, &SystemRandom::new())
        .map_err(|_| Error::other("cannot generate a key: the system random source failed"))?;
    Ok(pem::encode("PRIVATE KEY", doc.as_ref()))
}

/// A random number, for choices that must differ between routers (the
/// moment inside an ARI window).
pub fn random_u64() -> u64 {
    let mut b = [0u8; 8];
    // Without randomness the choice is still valid, only not spread.
    let _ = getrandom::fill(&mut b);
    u64::from_le_bytes(b)
}

/// ring signs with RSA keys but cannot make them; the `rsa` crate's
/// generator (probabilistic primes, public exponent 65537) does, fed from
/// the system's random source.
#[cfg(feature = "rsa")]
fn generate_rsa(kind: KeyType) -> Result<String> {
    use rsa::pkcs8::EncodePrivateKey;
    let bits = match kind {
        KeyType::Rsa3072 => 3072,
        KeyType::Rsa4096 => 4096,
        _ => 2048,
    };
    let key = rsa::RsaPrivateKey::new(&mut OsRng, bits)
        .map_err(|e| Error::other(format!("cannot generate an RSA key: {e}")))?;
    let der = key
        .to_pkcs8_der()
        .map_err(|e| Error::other(format!("cannot encode the RSA key: {e}")))?;
    Ok(pem::encode("PRIVATE KEY", der.as_bytes()))
}

#[cfg(not(feature = "rsa"))]
fn generate_rsa(kind: KeyType) -> Result<String> {
    Err(Error::other(format!(
        "key_type '{}' needs a wancert built with the rsa feature",
        kind.name()
    )))
}

/// The system random source for the `rsa` crate, through getrandom (the
/// one the rest of wancert uses, so no second copy is linked).
#[cfg(feature = "rsa")]
struct OsRng;

#[cfg(feature = "rsa")]
impl rsa::rand_core::RngCore for OsRng {
    fn next_u32(&mut self) -> u32 {
        let mut b = [0u8; 4];
        self.fill_bytes(&mut b);
        u32::from_le_bytes(b)
    }
    fn next_u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        self.fill_bytes(&mut b);
        u64::from_le_bytes(b)
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        // A key must never come from a failed random source.
        if getrandom::fill(dest).is_err() {
            panic!("the system random source failed");
        }
    }
    fn try_fill_bytes(
        &mut self,
        dest: &mut [u8],
    ) -> std::result::Result<(), rsa::rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

#[cfg(feature = "rsa")]
impl rsa::rand_core::CryptoRng for OsRng {}

/// An ECDSA account key that signs ACME requests.
pub struct AccountKey {
    pair: EcdsaKeyPair,
    kind: KeyType,
    rng: SystemRandom,
}

impl AccountKey {
    /// Load a PKCS#8 PEM key of either curve.
    pub fn from_pem(text: &str) -> Result<Self> {
        let der = pem::decode_all(text, "PRIVATE KEY")
            .pop()
            .ok_or_else(|| Error::other("the account key is not a PKCS#8 PEM private key"))?;
        let rng = SystemRandom::new();
        for kind in [KeyType::Ec256, KeyType::Ec384] {
            let alg = kind.ring_alg().ok_or_else(|| Error::other("not ECDSA"))?;
            if let Ok(pair) = EcdsaKeyPair::from_pkcs8(alg, &der, &rng) {
                return Ok(AccountKey { pair, kind, rng });
            }
        }
        Err(Error::other(
            "the account key is not a P-256 or P-384 ECDSA key",
        ))
    }
}

impl Signer for AccountKey {
    fn alg(&self) -> &'static str {
        match self.kind {
            KeyType::Ec384 => "ES384",
            _ => "ES256",
        }
    }
    fn jwk(&self) -> Jwk {
        let crv = match self.kind {
            KeyType::Ec384 => "P-384",
            _ => "P-256",
        };
        Jwk::ec(crv, self.pair.public_key().as_ref())
    }
    fn sign(&self, data: &[u8]) -> Result<Vec<u8>> {
        let sig = self
            .pair
            .sign(&self.rng, data)
            .map_err(|_| Error::other("ECDSA signing failed"))?;
        Ok(sig.as_ref().to_vec())
    }
}

/// A certificate signing request (DER) for `domains`, signed by the PKCS#8
/// PEM key `key_pem`; the first domain is the subject common name.
pub fn csr(domains: &[String], key_pem: &str) -> Result<Vec<u8>> {
    let key = cert_key(key_pem)?;
    let mut params = rcgen::CertificateParams::new(domains.to_vec())
        .map_err(|e| Error::other(format!("cannot build a CSR for {domains:?}: {e}")))?;
    params.distinguished_name = rcgen::DistinguishedName::new();
    if let Some(cn) = domains.first() {
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, cn.as_str());
    }
    let csr = params
        .serialize_request(&key)
        .map_err(|e| Error::other(format!("cannot sign the CSR: {e}")))?;
    Ok(csr.der().to_vec())
}

/// The SubjectPublicKeyInfo (DER) of a PKCS#8 PEM key, to match it against a
/// certificate.
pub fn spki(key_pem: &str) -> Result<Vec<u8>> {
    let key = cert_key(key_pem)?;
    Ok(rcgen::PublicKeyData::subject_public_key_info(&key))
}

fn cert_key(key_pem: &str) -> Result<rcgen::KeyPair> {
    let der = pem::decode_all(key_pem, "PRIVATE KEY").pop();
    der.and_then(|d| rcgen::KeyPair::try_from(d).ok())
        .ok_or_else(|| Error::other("the certificate key is not a PKCS#8 PEM ECDSA or RSA key"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_load_sign_and_match_their_csr() {
        for (kind, alg, len) in [(KeyType::Ec256, "ES256", 64), (KeyType::Ec384, "ES384", 96)] {
            let pem = generate(kind).unwrap();
            let key = AccountKey::from_pem(&pem).unwrap();
            assert_eq!(key.alg(), alg);
            assert_eq!(key.sign(b"x").unwrap().len(), len);
            let csr = csr(&["a.example".into(), "*.a.example".into()], &pem).unwrap();
            let spki = spki(&pem).unwrap();
            assert!(
                csr.windows(spki.len()).any(|w| w == spki),
                "the CSR carries the key"
            );
        }
        assert!(AccountKey::from_pem("nonsense").is_err());
    }

    #[cfg(feature = "rsa")]
    #[test]
    fn rsa_keys_sign_their_csr() {
        let pem = generate(KeyType::Rsa2048).unwrap();
        let der = pem::decode_all(&pem, "PRIVATE KEY").pop().unwrap();
        let pair = ring::signature::RsaKeyPair::from_pkcs8(&der).unwrap();
        assert_eq!(pair.public().modulus_len(), 256);
        let csr = csr(&["a.example".into()], &pem).unwrap();
        let spki = spki(&pem).unwrap();
        assert!(csr.windows(spki.len()).any(|w| w == spki));
        assert!(
            AccountKey::from_pem(&pem).is_err(),
            "accounts are ECDSA only"
        );
    }
}
