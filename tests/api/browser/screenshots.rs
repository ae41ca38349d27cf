//! Screenshots from the browser tests: checked for their size, written to
//! `docs/screenshots/` when `NOD_WRITE_SCREENSHOTS=1` (else to a temporary directory).

use std::path::PathBuf;

use fantoccini::Client;

/// The width and height in a PNG's header (IHDR, right after the signature).
pub fn png_size(png: &[u8]) -> (u32, u32) {
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    assert_eq!(&png[12..16], b"IHDR");
    let number = |at: usize| u32::from_be_bytes(png[at..at + 4].try_into().unwrap());
    (number(16), number(20))
}

/// Takes a screenshot, checks it is `width`×`height`, and writes it as `name`; returns where.
pub async fn capture(browser: &Client, name: &str, width: u32, height: u32) -> PathBuf {
    let png = browser.screenshot().await.unwrap();
    assert_eq!(png_size(&png), (width, height), "{name}");
    let dir = if std::env::var("NOD_WRITE_SCREENSHOTS").as_deref() == Ok("1") {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/screenshots")
    } else {
        std::env::temp_dir().join(format!("nod-screenshots-{}", std::process::id()))
    };
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, &png).unwrap();
    eprintln!(
        "screenshot {name}: {width}x{height}, {} bytes, {}",
        png.len(),
        path.display()
    );
    path
}

/// Makes the browser's viewport (what a screenshot shows) exactly `width`×`height`: the
/// window is sized, then grown by whatever its frame takes.
pub async fn set_viewport(browser: &Client, width: u32, height: u32) {
    browser.set_window_size(width, height).await.unwrap();
    let inner = browser
        .execute("return [window.innerWidth, window.innerHeight];", vec![])
        .await
        .unwrap();
    let (w, h) = (
        inner[0].as_u64().unwrap() as u32,
        inner[1].as_u64().unwrap() as u32,
    );
    if (w, h) != (width, height) {
        browser
            .set_window_size(
                width + (width - w.min(width)),
                height + (height - h.min(height)),
            )
            .await
            .unwrap();
    }
}
