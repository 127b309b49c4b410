//! The import corpus: CSV files with broken rows under `tests/import_corpus/`, each with the
//! summary and the errors it must produce in `NAME.expected`. Every file is read with no
//! default region or zone; a whole-file error is expected as `error: MESSAGE`.

use dialer::import::{ImportOptions, read_leads};
use std::path::Path;

fn outcome_of(path: &Path) -> String {
    let name = path.file_name().unwrap().to_str().unwrap();
    let file = std::fs::File::open(path).unwrap();
    match read_leads(name, file, &ImportOptions::default()) {
        Err(error) => format!("error: {error}\n"),
        Ok(read) => {
            let mut text = format!(
                "summary: rows={} leads={} duplicates={} rejected={}\n",
                read.rows,
                read.leads.len(),
                read.duplicates,
                read.errors.len()
            );
            for error in &read.errors {
                text.push_str(&format!("{error}\n"));
            }
            for lead in &read.leads {
                text.push_str(&format!(
                    "lead {} zone={} region={} priority={} fields={}\n",
                    lead.phone,
                    lead.time_zone.as_deref().unwrap_or("-"),
                    lead.region.as_deref().unwrap_or("-"),
                    lead.priority,
                    serde_json::Value::Object(lead.fields.clone())
                ));
            }
            text
        }
    }
}

#[test]
fn every_corpus_file_gives_its_expected_errors() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/import_corpus");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "csv"))
        .collect();
    files.sort();
    assert!(files.len() >= 10, "the corpus is missing files: {files:?}");
    let bless = std::env::var_os("BLESS_IMPORT_CORPUS").is_some();
    let mut failures = Vec::new();
    for path in files {
        let actual = outcome_of(&path);
        let expected_path = path.with_extension("expected");
        if bless {
            std::fs::write(&expected_path, &actual).unwrap();
            continue;
        }
        let expected = std::fs::read_to_string(&expected_path)
            .unwrap_or_else(|_| panic!("{} is missing", expected_path.display()));
        if actual != expected {
            failures.push(format!(
                "{}:\n--- expected\n{expected}--- actual\n{actual}",
                path.display()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
