//! The randomness seam: key generation and ECDSA signing (whose nonces are
//! random). Keys are stored as PKCS#8 PEM.

use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, KeyPair};

use crate::acme::jws::{Jwk, Signer};
use crate::config::KeyType;
use crate::{Error, Result, pem};

impl KeyType {
    fn ring_alg(self) -> &'static signature::EcdsaSigningAlgorithm {
        match self {
            KeyType::Ec256 => &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            KeyType::Ec384 => &signature::ECDSA_P384_SHA384_FIXED_SIGNING,
        }
    }
}

/// A new private key as PKCS#8 PEM.
pub fn generate(kind: KeyType) -> Result<String> {
    let doc = EcdsaKeyPair::generate_pkcs8(kind.ring_alg(), &SystemRandom::new())
        .map_err(|_| Error::other("cannot generate a key: the system random source failed"))?;
    Ok(pem::encode("PRIVATE KEY", doc.as_ref()))
}

/// `n` random bytes as unpadded base64url: a value nobody else will have
/// written, such as `dns-test`'s TXT value.
pub fn random_token(n: usize) -> Result<String> {
    let mut bytes = vec![0u8; n];
    ring::rand::SecureRandom::fill(&SystemRandom::new(), &mut bytes)
        .map_err(|_| Error::other("the system random source failed"))?;
    Ok(crate::b64::url(&bytes))
}

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
            if let Ok(pair) = EcdsaKeyPair::from_pkcs8(kind.ring_alg(), &der, &rng) {
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
            KeyType::Ec256 => "ES256",
            KeyType::Ec384 => "ES384",
        }
    }
    fn jwk(&self) -> Jwk {
        let crv = match self.kind {
            KeyType::Ec256 => "P-256",
            KeyType::Ec384 => "P-384",
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
        .ok_or_else(|| Error::other("the certificate key is not a PKCS#8 PEM ECDSA key"))
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
}
