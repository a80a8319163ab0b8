//! `FileVersion`: round trip through the codec, and a committed golden fixture so a
//! change of the wire format is seen in review (`LIGHTHOUSE_BLESS=1` regenerates it).

use lighthouse_schemas::{
    Envelope, FileContent, FileVersion, decode, encode, msg::is_safe_relative_path,
};
use std::path::PathBuf;

fn sample(content: FileContent) -> FileVersion {
    FileVersion {
        env: Envelope::new(
            "fs-0123",
            1_780_000_000_000_000,
            "demo",
            "claude-code",
            "toolu_01",
        ),
        path: "src/main.rs".into(),
        content,
        sha256: "ab".repeat(32),
        size: 12,
        mtime_us: 1_780_000_000_000_001,
        executable: false,
        tool: "Write".into(),
        tool_use_id: Some("toolu_01".into()),
    }
}

#[test]
fn every_content_kind_round_trips() {
    for content in [
        FileContent::Inline(b"fn main() {}".to_vec()),
        FileContent::Object {
            bucket: "lh_fs_blobs".into(),
            name: "ab".repeat(32),
        },
        FileContent::Masked {
            rule: ".env*".into(),
        },
        FileContent::TooLarge { limit: 64 << 20 },
        FileContent::Deleted,
    ] {
        let v = sample(content);
        assert_eq!(decode::<FileVersion>(&encode(&v).unwrap()).unwrap(), v);
    }
}

#[test]
fn inline_bytes_are_msgpack_binary_not_an_array() {
    let bytes = encode(&sample(FileContent::Inline(vec![0xff; 300]))).unwrap();
    // bin 16 marker (0xc5) followed by the length 300: one byte per content byte.
    assert!(bytes.windows(3).any(|w| w == [0xc5, 0x01, 0x2c]));
    assert!(bytes.len() < 600);
}

#[test]
fn golden_fixture_matches() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/file_version.v1.msgpack");
    let current = encode(&sample(FileContent::Inline(b"fn main() {}".to_vec()))).unwrap();
    if std::env::var_os("LIGHTHOUSE_BLESS").is_some() {
        std::fs::write(&path, &current).unwrap();
    }
    let golden = std::fs::read(&path).expect("fixture exists (LIGHTHOUSE_BLESS=1 writes it)");
    assert_eq!(
        decode::<FileVersion>(&golden).unwrap(),
        sample(FileContent::Inline(b"fn main() {}".to_vec()))
    );
    assert_eq!(
        golden, current,
        "wire format changed: bump the schema or bless"
    );
}

#[test]
fn unsafe_paths_are_refused() {
    for ok in ["a", "src/main.rs", "dir with space/ü.txt", ".env"] {
        assert!(is_safe_relative_path(ok), "{ok}");
    }
    for bad in [
        "",
        "/etc/passwd",
        "../x",
        "a/../b",
        "a//b",
        "./a",
        "a/",
        "a\0b",
    ] {
        assert!(!is_safe_relative_path(bad), "{bad:?}");
    }
}

#[test]
fn json_schema_is_generated_not_hand_kept() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("json/file_version.schema.json");
    let mut current = serde_json::to_string_pretty(&schemars::schema_for!(FileVersion)).unwrap();
    current.push('\n');
    if std::env::var_os("LIGHTHOUSE_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &current).unwrap();
    }
    let committed = std::fs::read_to_string(&path).expect("LIGHTHOUSE_BLESS=1 writes it");
    assert_eq!(
        committed, current,
        "schema changed: bless and commit schemas/json/"
    );
    // Other languages see every content kind.
    for kind in ["inline", "object", "masked", "too_large", "deleted"] {
        assert!(current.contains(&format!("\"{kind}\"")), "{kind}");
    }
}
