//! `cargo bench -p server --bench rows` (release profile, native): where the parsing worker's
//! time goes for each bench file (`target/bench/users-{10k,100k}.{csv,xlsx}`, written by
//! `end2end/bench/make-data.mjs`; `make bench` makes them): the parse, the row rules, the
//! clashes within the file and the encoding of the chunks, each the median of a few runs.
//! Native code, so the figures are a share of the work, not the browser's times (those are
//! `make bench`'s parse and endtoend sections). Prints figures and asserts nothing but the
//! row counts.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use app::batch::model::{counts, recheck_duplicates, DraftRow, CHUNK_ROWS};
use app::batch::packed;
use app::import::{parse, Limits};

fn median(mut xs: Vec<Duration>) -> Duration {
    xs.sort();
    xs[xs.len() / 2]
}

fn time<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut times = Vec::with_capacity(runs);
    let mut last = None;
    for _ in 0..runs {
        let t = Instant::now();
        let out = f();
        times.push(t.elapsed());
        last = Some(out);
    }
    (median(times), last.expect("at least one run"))
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn main() {
    let dir = std::env::var_os("BENCH_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/bench"));
    for (name, rows) in [
        ("users-10k.csv", 10_000),
        ("users-100k.csv", 100_000),
        ("users-10k.xlsx", 10_000),
        ("users-100k.xlsx", 100_000),
    ] {
        let path = dir.join(name);
        let Ok(bytes) = std::fs::read(&path) else {
            println!(
                "rows {name}: missing ({}); run make bench once",
                path.display()
            );
            continue;
        };
        let runs = if rows >= 100_000 { 5 } else { 11 };
        // The worker's steps in order, each on what the one before made (no copies): the
        // parse, the rules (each row into a DraftRow), the clashes within the file, the counts.
        let mut steps: [Vec<Duration>; 4] = Default::default();
        let mut listed = Vec::new();
        for _ in 0..runs {
            let t = Instant::now();
            let sheet = parse(&bytes, name, &Limits::default()).expect("the bench file parses");
            steps[0].push(t.elapsed());
            assert_eq!(sheet.rows.len(), rows, "{name}: rows");
            let t = Instant::now();
            let mut list: Vec<DraftRow> = sheet
                .rows
                .into_iter()
                .map(|r| DraftRow::new(r.line, r.raw))
                .collect();
            steps[1].push(t.elapsed());
            let t = Instant::now();
            recheck_duplicates(&mut list);
            steps[2].push(t.elapsed());
            let t = Instant::now();
            std::hint::black_box(counts(&list));
            steps[3].push(t.elapsed());
            listed = list;
        }
        let [parse_t, rules_t, clash_t, count_t] = steps.map(median);
        let sheet = parse(&bytes, name, &Limits::default()).expect("the bench file parses");
        // The rows as the worker hands them over and the draft store keeps them (packed),
        // and as JSON (what they were before) for comparison: encoded, and encoded then read
        // back as the page does.
        let hand_over = |encode: &dyn Fn(&[DraftRow]) -> Vec<u8>,
                         decode: &dyn Fn(&[u8]) -> Vec<DraftRow>| {
            let (encode_t, bytes_out) = time(runs, || {
                listed
                    .chunks(CHUNK_ROWS)
                    .map(|c| encode(c).len())
                    .sum::<usize>()
            });
            let (both_t, _) = time(runs, || {
                listed
                    .chunks(CHUNK_ROWS)
                    .map(|c| decode(&encode(c)).len())
                    .sum::<usize>()
            });
            (encode_t, bytes_out, both_t)
        };
        let packed = hand_over(&packed::encode, &|b| {
            packed::decode(b).expect("rows decode")
        });
        let json = hand_over(&|c| serde_json::to_vec(c).expect("rows encode"), &|b| {
            serde_json::from_slice(b).expect("rows decode")
        });
        // Each field's rule alone over every row (the rules' share of the time).
        let fields: Vec<String> = app::import::COLUMNS
            .iter()
            .map(|c| {
                let (t, _) = time(runs, || {
                    sheet
                        .rows
                        .iter()
                        .filter(|r| app::domain::check_account_field(&r.raw, c.field).is_some())
                        .count()
                });
                format!("{} {}", c.field, ms(t))
            })
            .collect();
        println!("rows {name}: per field: {}", fields.join(", "));
        println!(
            "rows {name}: parse {}, rules {}, clashes {}, counts {}, \
             packed: encode {} ({:.1} MB), encode+decode {}; \
             as JSON: encode {} ({:.1} MB), encode+decode {} ({:.1}× the packed form's)",
            ms(parse_t),
            ms(rules_t),
            ms(clash_t),
            ms(count_t),
            ms(packed.0),
            packed.1 as f64 / 1e6,
            ms(packed.2),
            ms(json.0),
            json.1 as f64 / 1e6,
            ms(json.2),
            json.2.as_secs_f64() / packed.2.as_secs_f64(),
        );
    }
}
