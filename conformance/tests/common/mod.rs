//! Shared by the tests that need the JavaScript stack: installs the JS adapter's pinned packages
//! (`npm ci`) once when `node_modules` is missing, so `cargo test` works on a fresh checkout.

use std::path::PathBuf;
use std::process::Command;
use std::sync::Once;

use ssb_conformance::workspace_root;

pub fn js_dir() -> PathBuf {
    workspace_root().join("conformance/adapters/js")
}

/// Makes sure the pinned JS packages are installed; panics with the reason if they cannot be.
pub fn ensure_js() -> PathBuf {
    static INSTALL: Once = Once::new();
    let dir = js_dir();
    INSTALL.call_once(|| {
        if dir.join("node_modules/secret-handshake").is_dir() {
            return;
        }
        let out = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&dir)
            .output()
            .expect("these tests need node and npm on PATH");
        assert!(
            out.status.success(),
            "npm ci failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    });
    dir
}
