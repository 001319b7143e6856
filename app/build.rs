// The migrations of ../migrations, embedded in the server: this writes the list of their files
// (name, contents by `include_str!`) that `server::db::MIGRATOR` reads, so that sqlx's
// proc macros (`migrate!`), and the second build of sqlx's drivers for the compiler that they
// bring, are not needed. Cargo looks at the folder again, so a new migration file alone
// rebuilds the crate.
use std::path::Path;
use std::{env, fs};

fn main() {
    println!("cargo:rerun-if-changed=../migrations");
    let dir = Path::new(&env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"))
        .join("../migrations");
    let mut files: Vec<String> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|entry| entry.expect("a migration folder entry"))
        .filter(|entry| entry.file_type().is_ok_and(|t| t.is_file()))
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".sql"))
        .collect();
    files.sort();
    let mut list = String::from("&[\n");
    for name in &files {
        let version = name.split_once('_').map(|(v, _)| v);
        assert!(
            version.is_some_and(|v| v.parse::<i64>().is_ok()),
            "migrations/{name}: a migration is named <version>_<description>.sql, \
             its version a number (e.g. 20261206000001_what_it_does.sql)"
        );
        let path = dir.join(name);
        list.push_str(&format!(
            "    ({name:?}, include_str!({:?})),\n",
            path.display().to_string()
        ));
    }
    list.push_str("]\n");
    let out = Path::new(&env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("migrations.rs");
    fs::write(&out, list).unwrap_or_else(|e| panic!("writing {}: {e}", out.display()));
}
