//! Loaders for upstream vectors, read from the directory named by `SSB_UPSTREAM_VECTORS`.
