//! One pass: issue or renew what is due, then deploy.
