//! Property tests standing in for `cargo fuzz` (which needs nightly): the IDX and CIFAR-10
//! parsers never panic on arbitrary or mutated input, and valid files round-trip.
//!
//! Longer session: `PROPTEST_CASES=200000 cargo test --release -p cold-data --test proptest_parsers`.

use std::io::Write;
use std::path::Path;

use cold_data::{Cifar10, IdxArray, images_from_idx, read_idx_bytes};
use proptest::prelude::*;

fn idx_file(dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut v = vec![0, 0, 8, dims.len() as u8];
    for d in dims {
        v.extend_from_slice(&d.to_be_bytes());
    }
    v.extend_from_slice(data);
    v
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// A valid IDX array: 1-4 small dimensions and matching data.
fn valid_idx() -> impl Strategy<Value = (Vec<u32>, Vec<u8>)> {
    prop::collection::vec(1u32..6, 1..=4).prop_flat_map(|dims| {
        let n = dims.iter().product::<u32>() as usize;
        (Just(dims), prop::collection::vec(any::<u8>(), n))
    })
}

/// Mutations of a byte string: overwrite, insert, delete, truncate.
#[derive(Clone, Debug)]
enum Mutation {
    Set(usize, u8),
    Insert(usize, u8),
    Remove(usize),
    Truncate(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Set(i, b)),
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Insert(i, b)),
        any::<usize>().prop_map(Mutation::Remove),
        any::<usize>().prop_map(Mutation::Truncate),
    ]
}

fn mutate(mut bytes: Vec<u8>, muts: &[Mutation]) -> Vec<u8> {
    for m in muts {
        let len = bytes.len();
        match *m {
            Mutation::Set(i, b) if len > 0 => bytes[i % len] = b,
            Mutation::Insert(i, b) => bytes.insert(i % (len + 1), b),
            Mutation::Remove(i) if len > 0 => {
                bytes.remove(i % len);
            }
            Mutation::Truncate(i) => bytes.truncate(i % (len + 1)),
            _ => {}
        }
    }
    bytes
}

/// Parses as an IDX file held in memory and as a file on disk (plain and gzip); all three must
/// agree and none may panic.
fn check_idx_bytes(bytes: &[u8]) -> Result<(), TestCaseError> {
    let path = Path::new("fuzz.idx");
    let in_memory = IdxArray::parse(bytes.to_vec(), path);
    if let Ok(a) = &in_memory {
        let n: usize = a.dims.iter().product();
        prop_assert_eq!(a.data.len(), n);
        // Building an image set from any parsed array never panics either.
        let _ = images_from_idx(a.clone(), path, None);
        let _ = images_from_idx(a.clone(), path, Some((a.clone(), path)));
    } else {
        let msg = in_memory.as_ref().unwrap_err().to_string();
        prop_assert!(msg.contains("fuzz.idx"), "{}", msg);
    }
    let dir = tempfile::tempdir().unwrap();
    for (name, content) in [("plain", bytes.to_vec()), ("packed.gz", gzip(bytes))] {
        let p = dir.path().join(name);
        std::fs::write(&p, &content).unwrap();
        let from_file = read_idx_bytes(&p).and_then(|b| IdxArray::parse(b, &p));
        match (&in_memory, &from_file) {
            (Ok(a), Ok(b)) => prop_assert_eq!(a, b),
            (Err(_), Err(e)) => prop_assert!(e.to_string().contains(name)),
            _ => prop_assert!(
                false,
                "file and memory disagree: {:?} vs {:?}",
                in_memory,
                from_file
            ),
        }
    }
    Ok(())
}

proptest! {
    #[test]
    fn idx_random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        check_idx_bytes(&bytes)?;
    }

    #[test]
    fn idx_random_header_never_panics(
        type_code in prop_oneof![Just(8u8), any::<u8>()],
        dims in prop::collection::vec(any::<u32>(), 0..10),
        tail in prop::collection::vec(any::<u8>(), 0..64),
    ) {
        let mut bytes = vec![0, 0, type_code, dims.len() as u8];
        for d in &dims {
            bytes.extend_from_slice(&d.to_be_bytes());
        }
        bytes.extend_from_slice(&tail);
        check_idx_bytes(&bytes)?;
    }

    #[test]
    fn idx_valid_files_round_trip((dims, data) in valid_idx()) {
        let bytes = idx_file(&dims, &data);
        let a = IdxArray::parse(bytes.clone(), Path::new("v.idx")).unwrap();
        prop_assert_eq!(a.dims, dims.iter().map(|&d| d as usize).collect::<Vec<_>>());
        prop_assert_eq!(&a.data, &data);
        check_idx_bytes(&bytes)?;
    }

    #[test]
    fn idx_mutated_valid_files_never_panic(
        (dims, data) in valid_idx(),
        muts in prop::collection::vec(mutation(), 1..4),
    ) {
        check_idx_bytes(&mutate(idx_file(&dims, &data), &muts))?;
    }

    #[test]
    fn idx_corrupted_gzip_never_panics(
        (dims, data) in valid_idx(),
        muts in prop::collection::vec(mutation(), 1..4),
    ) {
        let gz = mutate(gzip(&idx_file(&dims, &data)), &muts);
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("corrupt.gz");
        std::fs::write(&p, &gz).unwrap();
        if let Err(e) = IdxArray::read(&p) {
            prop_assert!(e.to_string().contains("corrupt.gz"));
        }
    }

    #[test]
    fn cifar_random_bytes_never_panic(
        bytes in prop_oneof![
            prop::collection::vec(any::<u8>(), 0..8000),
            // Exact multiples of a record with random labels and pixels.
            (1usize..3).prop_flat_map(|n| prop::collection::vec(any::<u8>(), n * 3073)),
        ]
    ) {
        match Cifar10::parse(&bytes, Path::new("fuzz.bin")) {
            Ok(set) => {
                prop_assert_eq!(bytes.len() % 3073, 0);
                prop_assert_eq!(set.len(), bytes.len() / 3073);
            }
            Err(e) => prop_assert!(e.to_string().contains("fuzz.bin")),
        }
    }

    #[test]
    fn cifar_valid_records_round_trip(
        records in prop::collection::vec((0u8..10, prop::collection::vec(any::<u8>(), 3072)), 1..4),
        muts in prop::collection::vec(mutation(), 0..3),
    ) {
        let mut bytes = Vec::new();
        for (label, pixels) in &records {
            bytes.push(*label);
            bytes.extend_from_slice(pixels);
        }
        let set = Cifar10::parse(&bytes, Path::new("v.bin")).unwrap();
        prop_assert_eq!(set.len(), records.len());
        for (i, (label, pixels)) in records.iter().enumerate() {
            prop_assert_eq!(set.label(i), Some(*label as u32));
            prop_assert_eq!(set.image(i).pixels, &pixels[..]);
        }
        if let Err(e) = Cifar10::parse(&mutate(bytes, &muts), Path::new("m.bin")) {
            prop_assert!(e.to_string().contains("m.bin"));
        }
    }
}
