//! `honeygraph export SYMBOL --format json|csv`: every account of a token's
//! projection, streamed page by page so memory stays flat.

use std::io::Write;

use anyhow::Context;
use state::amount::format_amount;
use state::projection::RichEntry;
use state::{Projection, Registry};

use crate::cli::ExportFormat;
use crate::settings::Settings;

const PAGE: usize = 1000;

pub(crate) fn run(settings: &Settings, symbol: &str, format: ExportFormat) -> anyhow::Result<()> {
    let registry = Registry::open(settings.registry_path())?;
    let config = registry
        .get(symbol)
        .with_context(|| format!("token {symbol} is not registered"))?
        .clone();
    let backend = datasets::open_backend(settings.zfs_parent.as_deref(), &settings.data_path)?;
    let layout = datasets::ensure_token_layout(backend.as_ref(), &config.symbol)?;
    let projection = Projection::open(&layout.state_dir, &config)?;
    let meta = projection.meta()?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let decimals = config.decimals;
    let row = |e: &RichEntry| {
        let s = e.state;
        [
            e.account.clone(),
            format_amount(u128::from(s.balance), decimals),
            s.balance.to_string(),
            format_amount(u128::from(s.power), decimals),
            s.power.to_string(),
            format_amount(u128::from(s.granted_in), decimals),
            s.granted_in.to_string(),
            format_amount(u128::from(s.granted_out), decimals),
            s.granted_out.to_string(),
        ]
    };
    const FIELDS: [&str; 9] = [
        "account",
        "balance",
        "balanceRaw",
        "power",
        "powerRaw",
        "grantedIn",
        "grantedInRaw",
        "grantedOut",
        "grantedOutRaw",
    ];
    match format {
        ExportFormat::Csv => writeln!(out, "{}", FIELDS.join(","))?,
        ExportFormat::Json => {
            let head = serde_json::json!({
                "symbol": config.symbol,
                "block": meta.cursor.as_ref().map(|c| c.num),
                "blockId": meta.cursor.as_ref().map(|c| c.id.clone()),
                "stateHash": meta.state_hash,
                "supplyRaw": meta.supply.to_string(),
                "holders": meta.holders,
            });
            let head = serde_json::to_string(&head)?;
            // Open the object, then stream the accounts array into it.
            write!(out, "{},\"accounts\":[", head.trim_end_matches('}'))?;
        }
    }
    // Holders (balance + power > 0) are what the rich list pages through.
    let bar = crate::progress::bar(
        meta.holders,
        "export {bar:40} {pos}/{len} accounts ({per_sec}, {eta} left)",
    );
    let mut after: Option<String> = None;
    let mut first = true;
    loop {
        let page = projection.richlist(PAGE, after.as_deref())?;
        bar.inc(page.entries.len() as u64);
        for entry in &page.entries {
            let values = row(entry);
            match format {
                ExportFormat::Csv => writeln!(out, "{}", values.join(","))?,
                ExportFormat::Json => {
                    let object: serde_json::Map<String, serde_json::Value> = FIELDS
                        .iter()
                        .zip(values)
                        .map(|(k, v)| ((*k).to_string(), serde_json::Value::String(v)))
                        .collect();
                    if !first {
                        write!(out, ",")?;
                    }
                    serde_json::to_writer(&mut out, &object)?;
                }
            }
            first = false;
        }
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    bar.finish_and_clear();
    if format == ExportFormat::Json {
        writeln!(out, "]}}")?;
    }
    out.flush()?;
    Ok(())
}
