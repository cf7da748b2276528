//! The file seam: atomic writes (temp file, fsync, rename, fsync dir), 0600 for secrets, and no write when nothing changed.
