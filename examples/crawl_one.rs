//! The library API in a few lines: crawl the URLs given as arguments (or stdin), records to stdout, and report
//! the summary. `cargo run --example crawl_one -- https://example.com/`

use std::io::Write as _;

use crawlfish::{Config, Signal};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let urls: Vec<String> = std::env::args().skip(1).collect();
    let list = std::env::temp_dir().join(format!("crawlfish-example-{}.txt", std::process::id()));
    std::fs::File::create(&list)?.write_all(urls.join("\n").as_bytes())?;

    let mut config = Config::defaults();
    config.files = vec![list.clone()];
    config.crawl.depth = 1;
    config.crawl.max_pages = Some(20);

    // Stop cleanly on Ctrl-C, as the binary does.
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
        Signal::Interrupt
    };
    let outcome = crawlfish::run(config, shutdown).await?;
    std::fs::remove_file(&list)?;
    eprintln!(
        "{} records, {} failed, in {:.2} s",
        outcome.summary.records,
        outcome.summary.failed,
        outcome.elapsed.as_secs_f64()
    );
    Ok(())
}
