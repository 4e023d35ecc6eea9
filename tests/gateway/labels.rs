//! Label rendering checked the way a warehouse would: a real barcode reader
//! (zbar) on the PNGs and on the PDFs rasterised by poppler at a known dpi.
//! The tools come from scripts/test.sh (zbar-tools, poppler-utils); without
//! them these tests fail, saying so.

use std::path::{Path, PathBuf};
use std::process::Command;

use linnstream::labels::{
    ELLIPSIS, LabelAddress, LabelError, LabelInput, LabelSize, LabelType, plan, render_label,
};

const ALL_TYPES: [LabelType; 4] = [
    LabelType::Default,
    LabelType::PortraitWithoutQr,
    LabelType::PortraitStandard,
    LabelType::Compact,
];

fn sample(label_type: LabelType) -> LabelInput {
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
            name: "Jane Whitaker".into(),
            company: "Whitaker & Sons".into(),
            address_lines: vec!["Flat 2".into(), "14 Abbey Road".into()],
            town: "Manchester".into(),
            region: "Greater Manchester".into(),
            postcode: "M14 5RW".into(),
            country_code: "GB".into(),
            phone: "07700 900123".into(),
        },
        order_reference: "LW-100234".into(),
        label_reference: Some("ACME".into()),
        service_name: "Stream Next Day".into(),
        service_code: "ND-24".into(),
        package_number: 1,
        package_count: 1,
        consignment_number: "CN0047113".into(),
        tracking_number: "STR0047113GB".into(),
        tracking_url: "https://track.go2stream.net/t/STR0047113GB".into(),
        weight_kg: Some(2.5),
    }
}

/// Runs an installed tool; a missing one fails the test with what to do.
fn run(tool: &str, args: &[&str]) -> String {
    let output = match Command::new(tool).args(args).output() {
        Ok(output) => output,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
            "`{tool}` is not installed: run scripts/test.sh, which installs zbar-tools and poppler-utils"
        ),
        Err(e) => panic!("could not run {tool}: {e}"),
    };
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Symbols zbar finds in an image, as (type, data), e.g. ("CODE-128", "STR...").
fn scan(image: &Path) -> Vec<(String, String)> {
    let path = image.to_str().expect("utf-8 temp path");
    run("zbarimg", &["--quiet", path])
        .lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(kind, data)| (kind.to_string(), data.to_string()))
        .collect()
}

fn expected_symbols(input: &LabelInput) -> Vec<(String, String)> {
    let mut expected = vec![("CODE-128".to_string(), input.tracking_number.clone())];
    if input.label_type.has_qr() {
        expected.push(("QR-Code".to_string(), input.tracking_url.clone()));
    }
    expected.sort();
    expected
}

/// Rasterises every page of a PDF at `dpi`; returns the page images in order.
fn pdf_pages(pdf: &Path, dpi: u32) -> Vec<PathBuf> {
    let prefix = pdf.with_extension("page");
    run(
        "pdftoppm",
        &[
            "-r",
            &dpi.to_string(),
            "-png",
            pdf.to_str().expect("utf-8"),
            prefix.to_str().expect("utf-8"),
        ],
    );
    let dir = pdf.parent().expect("temp dir");
    let stem = prefix
        .file_name()
        .and_then(|n| n.to_str())
        .expect("utf-8")
        .to_string();
    let mut pages: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("read temp dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&stem) && n.ends_with(".png"))
        })
        .collect();
    pages.sort();
    pages
}

fn pdf_text(pdf: &Path) -> String {
    run("pdftotext", &["-layout", pdf.to_str().expect("utf-8"), "-"])
}

fn dimensions(png: &Path) -> (u32, u32) {
    image::image_dimensions(png).expect("a readable PNG")
}

#[test]
fn every_label_type_scans_from_the_png_and_the_pdf() {
    let dir = tempfile::tempdir().expect("temp dir");
    for label_type in ALL_TYPES {
        let input = sample(label_type);
        let label = render_label(&input).expect("renders");
        let size = LabelSize::of(label_type);

        let png = dir.path().join(format!("{label_type:?}.png"));
        std::fs::write(&png, &label.pngs[0]).expect("write png");
        assert_eq!(
            dimensions(&png),
            (size.png_width(), size.png_height()),
            "{label_type:?}"
        );
        let mut found = scan(&png);
        found.sort();
        assert_eq!(found, expected_symbols(&input), "PNG of {label_type:?}");

        // 254 dpi is 10 pixels per mm: 4 x 6 in = 1016 x 1524, 100 x 50 mm = 1000 x 500.
        let pdf = dir.path().join(format!("{label_type:?}.pdf"));
        std::fs::write(&pdf, &label.pdf).expect("write pdf");
        let pages = pdf_pages(&pdf, 254);
        assert_eq!(pages.len(), 1, "{label_type:?}");
        let expected_px = match label_type {
            LabelType::Compact => (1000, 500),
            _ => (1016, 1524),
        };
        assert_eq!(
            dimensions(&pages[0]),
            expected_px,
            "PDF page of {label_type:?}"
        );
        let mut found = scan(&pages[0]);
        found.sort();
        assert_eq!(found, expected_symbols(&input), "PDF of {label_type:?}");

        let text = pdf_text(&pdf);
        for needle in [
            "Jane Whitaker",
            "M14 5RW",
            "LW-100234",
            "ACME",
            "Package 1 of 1",
        ] {
            assert!(
                text.contains(needle),
                "{label_type:?} PDF lacks {needle:?}:\n{text}"
            );
        }
        assert_eq!(
            (label.width_inches, label.height_inches),
            match label_type {
                LabelType::Compact => (3.94, 1.97),
                _ => (4.0, 6.0),
            }
        );
    }
}

#[test]
fn one_copy_and_five_copies() {
    let dir = tempfile::tempdir().expect("temp dir");
    for copies in [1, 5] {
        let input = LabelInput {
            copies,
            ..sample(LabelType::Default)
        };
        let label = render_label(&input).expect("renders");
        assert_eq!(label.pngs.len(), copies as usize);
        assert!(label.pngs.iter().all(|png| png == &label.pngs[0]));
        let pdf = dir.path().join(format!("copies-{copies}.pdf"));
        std::fs::write(&pdf, &label.pdf).expect("write pdf");
        let pages = pdf_pages(&pdf, 100);
        assert_eq!(pages.len(), copies as usize, "one PDF page per copy");
        for page in &pages {
            let found: Vec<String> = scan(page).into_iter().map(|(_, d)| d).collect();
            assert!(
                found.contains(&input.tracking_number),
                "{page:?}: {found:?}"
            );
        }
    }
}

#[test]
fn several_packages_each_carry_their_own_number_and_barcode() {
    let dir = tempfile::tempdir().expect("temp dir");
    for n in 1..=3 {
        let input = LabelInput {
            package_number: n,
            package_count: 3,
            tracking_number: format!("STR004711{n}GB"),
            ..sample(LabelType::PortraitStandard)
        };
        let label = render_label(&input).expect("renders");
        let png = dir.path().join(format!("package-{n}.png"));
        std::fs::write(&png, &label.pngs[0]).expect("write png");
        let codes: Vec<String> = scan(&png)
            .into_iter()
            .filter(|(kind, _)| kind == "CODE-128")
            .map(|(_, d)| d)
            .collect();
        assert_eq!(codes, vec![input.tracking_number.clone()]);
        let pdf = dir.path().join(format!("package-{n}.pdf"));
        std::fs::write(&pdf, &label.pdf).expect("write pdf");
        assert!(pdf_text(&pdf).contains(&format!("Package {n} of 3")));
    }
}

fn over_long(label_type: LabelType) -> LabelInput {
    let mut input = sample(label_type);
    input.recipient.name =
        "Maximilian Alexander Fitzgerald-Worthington-Smythe the Third of Upper Wolverhampton"
            .into();
    input.recipient.company = "The Extraordinarily Long Named International Trading Company of Great Britain and Northern Ireland Limited".into();
    input.recipient.address_lines = vec![
        "Apartment 1204, The Very Tall Residential Tower Building With A Long Name".into(),
        "1234 Extremely Long Boulevard Name That Keeps Going On And On Past The Edge".into(),
        "Industrial Estate Phase Twelve, Behind The Large Warehouse Near The Canal".into(),
    ];
    input.recipient.town = "Llanfairpwllgwyngyllgogerychwyrndrobwllllantysiliogogogoch".into();
    input.service_name =
        "Stream Premium Timed Next Day Before Noon Signature Required Service".into();
    input.order_reference =
        "ORDER-REFERENCE-THAT-IS-FAR-TOO-LONG-FOR-ANY-REASONABLE-LABEL-0001".into();
    input
}

#[test]
fn over_long_text_is_shortened_visibly_and_stays_on_the_label() {
    let dir = tempfile::tempdir().expect("temp dir");
    for label_type in ALL_TYPES {
        let input = over_long(label_type);
        let scene = plan(&input).expect("lays out");
        for run in &scene.texts {
            assert!(
                run.left >= 0.0 && run.right <= scene.width && run.baseline <= scene.height,
                "{label_type:?}: {run:?} is off the label"
            );
        }
        let shortened: Vec<&str> = scene
            .texts
            .iter()
            .filter(|r| r.text.ends_with(ELLIPSIS))
            .map(|r| r.text.as_str())
            .collect();
        assert!(
            shortened
                .iter()
                .any(|t| t.starts_with("Maximilian") || t.starts_with("The Extraordinarily")),
            "{label_type:?}: recipient not shortened visibly: {shortened:?}"
        );
        assert!(
            shortened.iter().any(|t| t.starts_with("ORDER-REF")),
            "{label_type:?}: order reference not shortened visibly: {shortened:?}"
        );

        let label = render_label(&input).expect("renders");
        let png = dir.path().join(format!("long-{label_type:?}.png"));
        std::fs::write(&png, &label.pngs[0]).expect("write png");
        // Nothing printed in the outer 8 dots: text never runs off the edge.
        let image = image::open(&png).expect("decode").to_luma8();
        let (w, h) = image.dimensions();
        for (x, y, pixel) in image.enumerate_pixels() {
            if x < 8 || y < 8 || x >= w - 8 || y >= h - 8 {
                assert_eq!(
                    pixel.0[0], 255,
                    "{label_type:?}: ink at the edge ({x}, {y})"
                );
            }
        }
        let found: Vec<String> = scan(&png).into_iter().map(|(_, d)| d).collect();
        assert!(
            found.contains(&input.tracking_number),
            "{label_type:?}: {found:?}"
        );

        let pdf = dir.path().join(format!("long-{label_type:?}.pdf"));
        std::fs::write(&pdf, &label.pdf).expect("write pdf");
        let text = pdf_text(&pdf);
        assert!(
            text.contains(ELLIPSIS),
            "{label_type:?}: no ellipsis in the PDF:\n{text}"
        );
    }
}

#[test]
fn copies_out_of_range_are_rejected() {
    for copies in [0, 6, 100] {
        let input = LabelInput {
            copies,
            ..sample(LabelType::Default)
        };
        let err = render_label(&input).expect_err("out of range");
        assert_eq!(err, LabelError::CopiesOutOfRange { copies });
        assert!(err.to_string().contains("between 1 and 5"), "{err}");
    }
}

#[test]
fn a_tracking_number_too_long_for_a_readable_barcode_is_an_error() {
    for label_type in ALL_TYPES {
        let input = LabelInput {
            tracking_number: "STREAM-TRACKING-ABCDEFGHIJKLMNOPQRSTUVWXYZ-ABCDEFGHIJ".into(),
            ..sample(label_type)
        };
        match plan(&input) {
            Err(LabelError::TrackingNumberTooLong {
                needed_mm,
                available_mm,
                ..
            }) => {
                assert!(needed_mm > available_mm);
            }
            other => panic!("{label_type:?}: expected TrackingNumberTooLong, got {other:?}"),
        }
    }
}

#[test]
fn long_but_printable_tracking_numbers_keep_scannable_bars_and_quiet_zones() {
    let dir = tempfile::tempdir().expect("temp dir");
    for label_type in ALL_TYPES {
        let input = LabelInput {
            tracking_number: "STR-ABCDEFGHJKLMNPQRSTU".into(),
            ..sample(label_type)
        };
        let scene = plan(&input).expect("fits at the narrowest bars");
        let bars = scene.barcode.expect("barcode placed");
        assert!(
            bars.module >= 2.0,
            "{label_type:?}: bars narrower than 2 dots"
        );
        assert!(bars.quiet_zone >= 10.0 * bars.module);
        let left_quiet = bars.x - bars.quiet_zone;
        let right_quiet = bars.x + bars.width + bars.quiet_zone;
        assert!(
            left_quiet >= 0.0 && right_quiet <= scene.width,
            "{label_type:?}: quiet zone off the label"
        );
        let png = dir.path().join(format!("narrow-{label_type:?}.png"));
        std::fs::write(&png, &render_label(&input).expect("renders").pngs[0]).expect("write");
        let found: Vec<String> = scan(&png).into_iter().map(|(_, d)| d).collect();
        assert!(
            found.contains(&input.tracking_number),
            "{label_type:?}: {found:?}"
        );
    }
}

#[test]
fn qr_types_need_a_tracking_url_and_the_others_do_not() {
    for label_type in ALL_TYPES {
        let input = LabelInput {
            tracking_url: String::new(),
            ..sample(label_type)
        };
        let result = plan(&input);
        if label_type.has_qr() {
            assert_eq!(result.err(), Some(LabelError::MissingField("tracking_url")));
        } else {
            let scene = result.expect("no QR needed");
            assert!(scene.qr.is_none());
        }
    }
}

#[test]
fn invalid_inputs_are_rejected_with_the_reason() {
    let base = sample(LabelType::Default);
    let cases = [
        (
            LabelInput {
                package_number: 4,
                package_count: 3,
                ..base.clone()
            },
            "package number",
        ),
        (
            LabelInput {
                tracking_number: " ".into(),
                ..base.clone()
            },
            "tracking_number is required",
        ),
        (
            LabelInput {
                tracking_number: "STR£12".into(),
                ..base.clone()
            },
            "printable ASCII",
        ),
        (
            LabelInput {
                weight_kg: Some(-1.0),
                ..base.clone()
            },
            "weight",
        ),
    ];
    for (input, reason) in cases {
        let err = plan(&input).expect_err("invalid").to_string();
        assert!(err.contains(reason), "{err:?} should mention {reason:?}");
    }
}

#[test]
fn accented_and_non_latin_addresses_render_and_scan() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut input = sample(LabelType::Default);
    input.recipient.name = "Zoë Łukasiewicz-Müller".into();
    input.recipient.town = "Łódź".into();
    input.recipient.address_lines = vec!["ul. Piotrkowska 12".into(), "Квартира 5".into()];
    let label = render_label(&input).expect("renders");
    let pdf = dir.path().join("accents.pdf");
    std::fs::write(&pdf, &label.pdf).expect("write pdf");
    let text = pdf_text(&pdf);
    // The PDF's standard fonts lack Ł and ź: they print as their base letters.
    assert!(text.contains("Zoë Lukasiewicz-Müller"), "{text}");
    assert!(text.contains("LÓDZ"), "{text}");
    let png = dir.path().join("accents.png");
    std::fs::write(&png, &label.pngs[0]).expect("write png");
    assert_eq!(scan(&png).len(), 2);
}

/// Writes sample labels for a person to look at:
/// `LABEL_SAMPLES_DIR=/tmp/labels cargo test --test gateway write_samples`.
#[test]
fn write_samples() {
    let Some(dir) = std::env::var_os("LABEL_SAMPLES_DIR").map(PathBuf::from) else {
        return;
    };
    std::fs::create_dir_all(&dir).expect("samples dir");
    for label_type in ALL_TYPES {
        for (name, input) in [
            ("sample", sample(label_type)),
            ("long", over_long(label_type)),
        ] {
            let label = render_label(&input).expect("renders");
            std::fs::write(
                dir.join(format!("{name}-{label_type:?}.png")),
                &label.pngs[0],
            )
            .expect("write");
            std::fs::write(dir.join(format!("{name}-{label_type:?}.pdf")), &label.pdf)
                .expect("write");
        }
    }
}
