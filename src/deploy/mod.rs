//! Deployers: the registry. A deployer is one file here.
