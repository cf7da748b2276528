//! A minimal DER reader for the X.509 fields wancert needs: validity, serial, public key, key identifiers.
