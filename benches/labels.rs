//! Labels rendered per second on one core, for each label type: PNG alone, PDF
//! alone, and both together (what GenerateLabel does per package).
//!
//! `cargo bench --bench labels` prints one `name: value unit` line per figure.
//! Target: at least 200 labels/s for PNG and PDF together.

use std::hint::black_box;
use std::time::{Duration, Instant};

use linnstream::labels::{
    LabelAddress, LabelInput, LabelType, render_label, render_pdf, render_png,
};

fn sample(label_type: LabelType, n: u32) -> LabelInput {
    LabelInput {
        label_type,
        copies: 1,
        sender: LabelAddress {
            name: "Dispatch Team".into(),
            company: "Acme Garden Supplies Ltd".into(),
            address_lines: vec!["Unit 7 Riverside Trading Estate".into(), "Mill Lane".into()],
            town: "Leeds".into(),
            region: "West Yorkshire".into(),
            postcode: "LS10 1AB".into(),
            country_code: "GB".into(),
            phone: "+44 113 496 0000".into(),
        },
        recipient: LabelAddress {
            name: format!("Customer {n}"),
            company: "Whitaker & Sons".into(),
            address_lines: vec!["Flat 2".into(), format!("{n} Abbey Road")],
            town: "Manchester".into(),
            region: "Greater Manchester".into(),
            postcode: "M14 5RW".into(),
            country_code: "GB".into(),
            phone: "07700 900123".into(),
        },
        order_reference: format!("LW-{n:06}"),
        label_reference: Some("ACME".into()),
        service_name: "Stream Next Day".into(),
        service_code: "ND-24".into(),
        package_number: 1,
        package_count: 1,
        consignment_number: format!("CN{n:07}"),
        tracking_number: format!("STR{n:07}GB"),
        tracking_url: format!("https://track.go2stream.net/t/STR{n:07}GB"),
        weight_kg: Some(2.5),
    }
}

/// CPU time this thread has run, in seconds (Linux schedstat, nanoseconds), so
/// the figures are per core even when other processes share the machine.
fn thread_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: f64 = stat.split_whitespace().next()?.parse().ok()?;
    Some(ns / 1e9)
}

/// Runs `render` for about `budget` of wall time (after a warm-up) and returns
/// renders per second of CPU time (wall time where CPU time is unavailable).
fn per_second(budget: Duration, mut render: impl FnMut(u32)) -> f64 {
    for n in 0..3 {
        render(n);
    }
    let cpu_start = thread_cpu_seconds();
    let start = Instant::now();
    let mut count = 0u32;
    while start.elapsed() < budget {
        render(count);
        count += 1;
    }
    let wall = start.elapsed().as_secs_f64();
    let seconds = match (cpu_start, thread_cpu_seconds()) {
        (Some(a), Some(b)) if b > a => b - a,
        _ => wall,
    };
    f64::from(count) / seconds
}

fn main() {
    // `cargo test --all-targets` runs this too, without `--bench`: render each
    // type once as a smoke check instead of measuring in a debug build.
    let measuring = std::env::args().any(|a| a == "--bench");
    let budget = if measuring {
        Duration::from_millis(1500)
    } else {
        Duration::ZERO
    };
    for (name, label_type) in [
        ("default", LabelType::Default),
        ("portrait_without_qr", LabelType::PortraitWithoutQr),
        ("portrait_standard", LabelType::PortraitStandard),
        ("compact", LabelType::Compact),
    ] {
        let png = per_second(budget, |n| {
            black_box(
                render_png(&sample(label_type, n))
                    .map(|b| b.len())
                    .expect("renders"),
            );
        });
        let pdf = per_second(budget, |n| {
            black_box(
                render_pdf(&sample(label_type, n))
                    .map(|b| b.len())
                    .expect("renders"),
            );
        });
        let both = per_second(budget, |n| {
            black_box(
                render_label(&sample(label_type, n))
                    .map(|l| l.pdf.len())
                    .expect("renders"),
            );
        });
        if measuring {
            println!("labels_{name}_png_per_sec: {png:.0} labels/s");
            println!("labels_{name}_pdf_per_sec: {pdf:.0} labels/s");
            println!("labels_{name}_png_pdf_per_sec: {both:.0} labels/s");
        }
    }
}
