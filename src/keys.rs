//! The randomness seam: key generation and ECDSA signing (whose nonces are
//! random). Keys are stored as PKCS#8 PEM.

use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, KeyPair};

use crate::acme::jws::{Jwk, Signer};
use crate::config::KeyType;
use crate::{Error, Result, der, pem};

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

/// `n` random bytes as unpadded base64url: a value nobody else will have
/// written, such as `dns-test`'s TXT value.
pub fn random_token(n: usize) -> Result<String> {
    let mut bytes = vec![0u8; n];
    ring::rand::SecureRandom::fill(&SystemRandom::new(), &mut bytes)
        .map_err(|_| Error::other("the system random source failed"))?;
    Ok(crate::b64::url(&bytes))
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
    let key = CertKey::from_pem(key_pem)?;
    let info = der::csr_info(domains, &key.spki());
    let rng = SystemRandom::new();
    let failed = |_| Error::other("cannot sign the CSR: the system random source failed");
    Ok(match &key {
        CertKey::Ec { pair, sig_alg, .. } => {
            let sig = pair.sign(&rng, &info).map_err(failed)?;
            der::csr(&info, sig_alg, sig.as_ref())
        }
        CertKey::Rsa(pair) => {
            let mut sig = vec![0; pair.public().modulus_len()];
            pair.sign(&signature::RSA_PKCS1_SHA256, &rng, &info, &mut sig)
                .map_err(failed)?;
            der::csr(&info, der::ALG_RSA_SHA256, &sig)
        }
    })
}

/// The SubjectPublicKeyInfo (DER) of a PKCS#8 PEM key, to match it against a
/// certificate.
pub fn spki(key_pem: &str) -> Result<Vec<u8>> {
    Ok(CertKey::from_pem(key_pem)?.spki())
}

/// A certificate key as ring loads it, with the DER identifiers of its kind.
/// ECDSA signatures in a CSR are ASN.1 (DER), unlike the fixed-size ones of
/// a JWS, so the key is loaded with the `_ASN1_SIGNING` algorithm.
enum CertKey {
    Ec {
        pair: EcdsaKeyPair,
        /// SubjectPublicKeyInfo `algorithm` (curve).
        spki_alg: &'static [u8],
        /// CSR `signatureAlgorithm`.
        sig_alg: &'static [u8],
    },
    Rsa(signature::RsaKeyPair),
}

impl CertKey {
    fn from_pem(key_pem: &str) -> Result<Self> {
        let bad = || Error::other("the certificate key is not a PKCS#8 PEM ECDSA or RSA key");
        let der = pem::decode_all(key_pem, "PRIVATE KEY")
            .pop()
            .ok_or_else(bad)?;
        let rng = SystemRandom::new();
        let curves = [
            (
                &signature::ECDSA_P256_SHA256_ASN1_SIGNING,
                der::SPKI_ALG_P256,
                der::ALG_ECDSA_SHA256,
            ),
            (
                &signature::ECDSA_P384_SHA384_ASN1_SIGNING,
                der::SPKI_ALG_P384,
                der::ALG_ECDSA_SHA384,
            ),
        ];
        for (alg, spki_alg, sig_alg) in curves {
            if let Ok(pair) = EcdsaKeyPair::from_pkcs8(alg, &der, &rng) {
                return Ok(CertKey::Ec {
                    pair,
                    spki_alg,
                    sig_alg,
                });
            }
        }
        signature::RsaKeyPair::from_pkcs8(&der)
            .map(CertKey::Rsa)
            .map_err(|_| bad())
    }

    fn spki(&self) -> Vec<u8> {
        match self {
            CertKey::Ec { pair, spki_alg, .. } => der::spki(spki_alg, pair.public_key().as_ref()),
            CertKey::Rsa(pair) => der::spki(der::SPKI_ALG_RSA, pair.public().as_ref()),
        }
    }
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

    /// openssl's reading of a CSR: its self-signature must verify, and the
    /// text dump is returned for the names and key to be checked.
    fn openssl_verify(csr: &[u8]) -> String {
        use std::io::Write;
        use std::process::{Command, Stdio};
        let mut child = Command::new("openssl")
            .args(["req", "-inform", "DER", "-verify", "-noout", "-text"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("openssl (tests/setup.sh installs it)");
        child.stdin.take().unwrap().write_all(csr).unwrap();
        let out = child.wait_with_output().unwrap();
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "openssl rejects the CSR: {all}");
        assert!(all.contains("verify OK"), "no good signature: {all}");
        all
    }

    #[test]
    fn openssl_verifies_the_csr_of_each_curve() {
        for (kind, curve) in [
            (KeyType::Ec256, "prime256v1"),
            (KeyType::Ec384, "secp384r1"),
        ] {
            let pem = generate(kind).unwrap();
            let names = ["a.example".to_string(), "*.a.example".to_string()];
            let text = openssl_verify(&csr(&names, &pem).unwrap());
            assert!(
                text.contains("CN=a.example") || text.contains("CN = a.example"),
                "{text}"
            );
            assert!(text.contains("DNS:a.example, DNS:*.a.example"), "{text}");
            assert!(text.contains(curve), "{text}");
        }
    }

    #[test]
    fn a_long_name_list_needs_long_form_lengths() {
        let pem = generate(KeyType::Ec256).unwrap();
        let names: Vec<String> = (0..40)
            .map(|i| format!("host{i}.long-zone-name.example"))
            .collect();
        let der = csr(&names, &pem).unwrap();
        assert!(der.len() > 1000);
        let text = openssl_verify(&der);
        assert!(text.contains("DNS:host39.long-zone-name.example"), "{text}");
    }

    #[test]
    fn the_spki_is_the_one_a_certificate_carries() {
        let pem = generate(KeyType::Ec256).unwrap();
        let key =
            rcgen::KeyPair::try_from(pem::decode_all(&pem, "PRIVATE KEY").pop().unwrap()).unwrap();
        assert_eq!(
            spki(&pem).unwrap(),
            rcgen::PublicKeyData::subject_public_key_info(&key)
        );
        assert!(spki("nonsense").is_err());
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
        assert!(openssl_verify(&csr).contains("rsaEncryption"));
        assert!(
            AccountKey::from_pem(&pem).is_err(),
            "accounts are ECDSA only"
        );
    }
}
