//! PyTorch checkpoints (`torch.save`): a zip holding `<archive>/data.pkl`, the pickled state
//! dict, and one `<archive>/data/<key>` entry per storage. The pickle is read by candle's
//! reader, which builds objects and runs nothing; storages are borrowed from the zip when it
//! stores them uncompressed, as `torch.save` does.

use std::borrow::Cow;
use std::collections::HashMap;
use std::io::{BufReader, Cursor, Read};
use std::path::Path;

use candle_core::DType;
use candle_core::pickle::{Object, Stack, TensorInfo};
use zip::{CompressionMethod, ZipArchive};

use crate::ConvertError;
use crate::checkpoint::{Checkpoint, ElementType, Format, RawTensor, official_name};

/// Keys under which training scripts store the state dict, the official one first.
const STATE_DICT_KEYS: [&str; 3] = ["model", "state_dict", "model_ema"];

pub fn read(bytes: &[u8]) -> Result<Checkpoint<'_>, ConvertError> {
    let mut zip = ZipArchive::new(Cursor::new(bytes)).map_err(|e| match e {
        // A zip's directory is at its end: a checkpoint cut short has none.
        zip::result::ZipError::InvalidArchive(_) => {
            ConvertError::Truncated(format!("a zip file without its directory: {e}"))
        }
        other => ConvertError::NotACheckpoint(other.to_string()),
    })?;
    let pickle_name = (zip.file_names())
        .filter_map(Result::ok)
        .find(|n| n.ends_with("data.pkl"))
        .map(|n| n.into_owned())
        .ok_or_else(|| ConvertError::NotACheckpoint("it has no data.pkl".into()))?;
    let root = read_pickle(&mut zip, &pickle_name)?;
    let (state_dict, found_under) = find_state_dict(root)?;
    let folder = pickle_name.trim_end_matches(".pkl").to_owned();
    let mut tensors = HashMap::new();
    for (name, value) in state_dict {
        let name_text = match &name {
            Object::Unicode(text) => text.clone(),
            _ => continue,
        };
        if !rebuildable(&value) {
            return Err(unreadable(format!(
                "the record of `{name_text}` is not a tensor's as torch.save writes it"
            )));
        }
        let info = value
            .into_tensor_info(name, Path::new(&folder))
            .map_err(|e| unreadable(format!("tensor `{name_text}`: {e}")))?;
        // Entries that are not tensors (a version number, say) are not weights.
        let Some(info) = info else { continue };
        let tensor = storage_of(&mut zip, bytes, &info)?;
        tensors.insert(official_name(&name_text).to_owned(), tensor);
    }
    if tensors.is_empty() {
        return Err(ConvertError::NoTensors);
    }
    Ok(Checkpoint {
        tensors,
        found_under,
        format: Format::Pth,
    })
}

fn unreadable(detail: String) -> ConvertError {
    ConvertError::Unreadable {
        what: "the checkpoint's pickle cannot be read",
        detail,
    }
}

fn read_pickle(zip: &mut ZipArchive<Cursor<&[u8]>>, name: &str) -> Result<Object, ConvertError> {
    let mut entry = zip
        .by_name(name)
        .map_err(|e| ConvertError::Truncated(format!("{name}: {e}")))?;
    let mut pickle = Vec::new();
    entry
        .read_to_end(&mut pickle)
        .map_err(|e| ConvertError::Truncated(format!("{name}: {e}")))?;
    check_lengths(&pickle)?;
    let mut stack = Stack::empty();
    stack
        .read_loop(&mut BufReader::new(&pickle[..]))
        .map_err(|e| unreadable(e.to_string()))?;
    stack.finalize().map_err(|e| unreadable(e.to_string()))
}

/// Walks the pickle's opcodes (those candle's reader knows, with the same arguments) and
/// refuses a length that runs past its end: candle allocates what a string's length says
/// before it reads, so four bytes could ask for 4 GiB (found by the `checkpoint` fuzz target).
fn check_lengths(pickle: &[u8]) -> Result<(), ConvertError> {
    let lie = |at: usize| unreadable(format!("a length at byte {at} runs past the pickle's end"));
    let mut at = 0;
    while let Some(&op) = pickle.get(at) {
        let rest = pickle.len() - at - 1;
        let argument = match op {
            // PROTO, BININT1, BINPUT, BINGET
            0x80 | b'K' | b'q' | b'h' => 1,
            b'M' => 2,
            b'J' | b'r' | b'j' => 4,
            b'G' => 8,
            b'X' => {
                let length = pickle
                    .get(at + 1..at + 5)
                    .map(|b| u32::from_le_bytes(b.try_into().expect("4 bytes")))
                    .ok_or_else(|| lie(at))?;
                // In u64: on wasm32 a usize would overflow.
                if 4 + u64::from(length) > rest as u64 {
                    return Err(lie(at));
                }
                4 + length as usize
            }
            // LONG1: a byte count, then that many bytes (at most an i64's 8)
            0x8a => match pickle.get(at + 1) {
                Some(&n) if n <= 8 => 1 + n as usize,
                _ => return Err(lie(at)),
            },
            // GLOBAL: two lines
            b'c' => pickle[at + 1..]
                .iter()
                .enumerate()
                .filter(|&(_, &b)| b == b'\n')
                .nth(1)
                .map(|(i, _)| i + 1)
                .ok_or_else(|| lie(at))?,
            b'.' => return Ok(()),
            // The rest candle knows take no argument; one it does not know, it refuses.
            _ => 0,
        };
        if argument > rest {
            return Err(lie(at));
        }
        at += 1 + argument;
    }
    Ok(())
}

/// The state dict: under one of [`STATE_DICT_KEYS`], or the pickle's top level.
fn find_state_dict(root: Object) -> Result<(Vec<(Object, Object)>, String), ConvertError> {
    let Object::Dict(entries) = root else {
        return Err(ConvertError::NoTensors);
    };
    for key in STATE_DICT_KEYS {
        let found = entries.iter().position(|(k, v)| {
            matches!(k, Object::Unicode(text) if text == key) && matches!(v, Object::Dict(_))
        });
        if let Some(index) = found {
            let Object::Dict(state) = entries.into_iter().nth(index).expect("found").1 else {
                unreachable!("matched as a dict")
            };
            return Ok((state, format!("'{key}'")));
        }
    }
    Ok((entries, "the top level".to_owned()))
}

fn is_class(object: &Object, module: &str, class: &str) -> bool {
    matches!(object, Object::Class { module_name, class_name } if module_name == module && class_name == class)
}

/// Whether a state-dict value has the shape candle's `into_tensor_info` takes apart by index
/// (it panics on a short tuple): a tensor rebuilt by `_rebuild_tensor_v2` from a storage
/// record of five fields, possibly wrapped as a parameter or a typed tensor. Values that are
/// not tensors at all pass: candle passes over them.
fn rebuildable(value: &Object) -> bool {
    let Object::Reduce { callable, args } = value else {
        return true;
    };
    let tuple = |o: &Object| match o {
        Object::Tuple(items) => Some(items.clone()),
        _ => None,
    };
    if is_class(callable, "torch._tensor", "_rebuild_from_type_v2") {
        // (function, type, args, state): candle rebuilds `function(*args)`.
        return tuple(args).is_some_and(|a| {
            a.len() >= 3
                && rebuildable(&Object::Reduce {
                    callable: Box::new(a[0].clone()),
                    args: Box::new(a[2].clone()),
                })
        });
    }
    if is_class(callable, "torch._utils", "_rebuild_parameter") {
        return tuple(args).is_some_and(
            |a| matches!(a.first(), Some(inner @ Object::Reduce { .. }) if rebuildable(inner)),
        );
    }
    if !is_class(callable, "torch._utils", "_rebuild_tensor_v2") {
        return true;
    }
    // (storage, offset, size, stride, …), the storage a persistent record of five fields.
    tuple(args).is_some_and(|a| {
        a.len() >= 4
            && matches!(&a[0], Object::PersistentLoad(record)
                if tuple(record).is_some_and(|r| r.len() >= 5))
    })
}

fn element_type(dtype: DType) -> ElementType {
    match dtype {
        DType::F32 => ElementType::F32,
        DType::F16 => ElementType::F16,
        DType::BF16 => ElementType::Bf16,
        DType::F64 => ElementType::F64,
        other => ElementType::Other(format!("{other:?}")),
    }
}

/// A tensor's bytes from its storage entry: borrowed from `bytes` when stored plainly.
fn storage_of<'a>(
    zip: &mut ZipArchive<Cursor<&'a [u8]>>,
    bytes: &'a [u8],
    info: &TensorInfo,
) -> Result<RawTensor<'a>, ConvertError> {
    let name = &info.name;
    let element = element_type(info.dtype);
    let shape = info.layout.dims().to_vec();
    if !info.layout.is_contiguous() {
        return Err(ConvertError::Tensor(format!(
            "tensor `{name}` is stored with strides {:?}, which are not read here",
            info.layout.stride()
        )));
    }
    let count: usize = shape.iter().product();
    let start = info.layout.start_offset();
    let length = count * element.size().unwrap_or(info.dtype.size_in_bytes());
    let mut entry = zip
        .by_name(&info.path)
        .map_err(|e| ConvertError::Truncated(format!("tensor `{name}`'s storage: {e}")))?;
    let available = entry.size() as usize;
    if start.checked_add(length).is_none_or(|end| end > available) {
        return Err(ConvertError::Truncated(format!(
            "tensor `{name}` needs {length} bytes at {start}, its storage has {available}"
        )));
    }
    let data = match (entry.compression(), entry.data_start()) {
        (CompressionMethod::Stored, Some(at)) => {
            let at = at as usize + start;
            let slice = bytes.get(at..at + length).ok_or_else(|| {
                ConvertError::Truncated(format!("tensor `{name}` runs past the end of the file"))
            })?;
            Cow::Borrowed(slice)
        }
        _ => {
            let mut all = Vec::with_capacity(available);
            entry
                .read_to_end(&mut all)
                .map_err(|e| ConvertError::Truncated(format!("tensor `{name}`: {e}")))?;
            Cow::Owned(all[start..start + length].to_vec())
        }
    };
    Ok(RawTensor {
        shape,
        element,
        data,
    })
}
