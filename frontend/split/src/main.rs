//! `wasm-split INPUT.wasm PKG_DIR NAME`: splits the page's wasm (linked with `--emit-relocs`)
//! at its `#[lazy]` functions and lazy routes, as `cargo leptos build --split` does. Writes
//! the lazily loaded chunks and their loader (`__wasm_split.______________________.js`, the
//! name Leptos's `HydrationScripts` looks for) into PKG_DIR, the main module (for
//! wasm-bindgen) as PKG_DIR/NAME_split.wasm, and `__wasm_split_manifest.json`: which chunks
//! each split point needs, from which the server has a page preload the chunks its route
//! uses.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [input, dir, name] = args.as_slice() else {
        eprintln!("usage: wasm-split INPUT.wasm PKG_DIR NAME");
        return ExitCode::from(2);
    };
    match split(Path::new(input), Path::new(dir), name) {
        Ok(chunks) => {
            println!("wasm-split: {chunks} lazily loaded chunks");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("wasm-split: {e}");
            ExitCode::FAILURE
        }
    }
}

fn split(input: &Path, dir: &Path, name: &str) -> Result<usize, String> {
    let wasm = std::fs::read(input).map_err(|e| format!("cannot read {}: {e}", input.display()))?;
    let main_out: PathBuf = dir.join(format!("{name}_split.wasm"));
    let main_module = format!("./{name}.js");
    let mut opts = wasm_split_cli_support::Options::new(&wasm);
    opts.output_dir = dir;
    opts.main_out_path = &main_out;
    opts.main_module = &main_module;
    opts.link_name = "./__wasm_split.______________________.js";
    let split = wasm_split_cli_support::transform(opts).map_err(|e| format!("{e:#}"))?;
    let manifest = serde_json::to_string_pretty(&split.prefetch_map)
        .map_err(|e| format!("the manifest: {e}"))?;
    let path = dir.join("__wasm_split_manifest.json");
    std::fs::write(&path, manifest).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(split.split_modules.len())
}
