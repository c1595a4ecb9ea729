//! Fingerprints the migrations so test templates are rebuilt exactly when
//! they change, and so `embed_migrations!` re-runs when a migration is edited.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::path::Path;

fn main() {
    println!("cargo:rerun-if-changed=migrations");
    let mut files = Vec::new();
    collect(Path::new("migrations"), &mut files);
    files.sort();
    let mut hasher = DefaultHasher::new();
    for path in &files {
        println!("cargo:rerun-if-changed={}", path.display());
        path.to_string_lossy().hash(&mut hasher);
        std::fs::read(path)
            .expect("read migration")
            .hash(&mut hasher);
    }
    println!(
        "cargo:rustc-env=SAAS_DB_MIGRATIONS_FINGERPRINT={:016x}",
        hasher.finish()
    );
}

fn collect(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read migrations directory") {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            collect(&path, out);
        } else {
            out.push(path);
        }
    }
}
