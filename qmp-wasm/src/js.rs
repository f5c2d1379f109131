//! The few JS built-ins the crate calls, declared here rather than taken from `js-sys`.
//!
//! Linking `js-sys`, even for a few of its functions, put 43 closure shims into the
//! `.wasm`, none of them used here (measured: 1.4 KB of the module after `wasm-opt`).

use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    /// A JS `Error`.
    #[wasm_bindgen(js_name = Error, typescript_type = "Error")]
    pub(crate) type JsError;

    /// `new Error(message)`.
    #[wasm_bindgen(constructor, js_class = "Error")]
    pub(crate) fn new(message: &str) -> JsError;

    /// A JS array.
    #[wasm_bindgen(js_name = Array, typescript_type = "Array<any>")]
    pub type JsArray;

    /// `new Array()`.
    #[wasm_bindgen(constructor, js_class = "Array")]
    pub(crate) fn new() -> JsArray;

    /// `array.push(value)`; returns the array's new length.
    #[wasm_bindgen(method, js_class = "Array", js_name = push)]
    pub(crate) fn push(this: &JsArray, value: &JsValue) -> u32;

    /// `Reflect.set(target, key, value)`: setting a property of a fresh error, which
    /// cannot fail.
    #[wasm_bindgen(js_namespace = Reflect, js_name = set)]
    pub(crate) fn set(target: &JsValue, key: &str, value: &JsValue) -> bool;

    /// `JSON.stringify(value)`; throws on cycles and BigInts.
    #[wasm_bindgen(js_namespace = JSON, js_name = stringify, catch)]
    pub(crate) fn stringify(value: &JsValue) -> Result<JsValue, JsValue>;
}

/// The JS errors of a batch, in a JS array made when the first one comes: no
/// `Vec<JsValue>` to convert at the boundary (each export returning one carries a shim
/// of its own in the `.wasm`).
#[derive(Default)]
pub(crate) struct JsErrors {
    array: Option<JsArray>,
}

impl JsErrors {
    /// Adds `error` and returns its index.
    pub(crate) fn push(&mut self, error: &JsValue) -> u32 {
        self.array.get_or_insert_with(JsArray::new).push(error) - 1
    }

    /// Forget the errors.
    pub(crate) fn clear(&mut self) {
        self.array = None;
    }

    /// The errors, in order (an empty array when there are none); the list is emptied.
    pub(crate) fn take(&mut self) -> JsArray {
        self.array.take().unwrap_or_else(JsArray::new)
    }
}
