// qmp-wasm: QMP for browsers and Node, over qmp-core compiled to WebAssembly.
export { init, type WasmSource } from './wasm.js';
export { Decoder, QmpMessage, type DecodedItem, type MessageKind, type Timestamp } from './decoder.js';
export { encodeCommand, encodeLine, type EncodeOptions, type Id } from './encode.js';
export {
  connect,
  QmpClient,
  type ConnectOptions,
  type ExecuteOptions,
  type ExecuteTextOptions,
  type Greeting,
  type ProtocolProblem,
  type QmpEvent,
  type WebSocketConstructor,
} from './client.js';
export {
  QmpError,
  DisconnectedError,
  TimeoutError,
  ReplyTooLargeError,
  isFramingError,
  isNotQmpError,
  isShellSyntaxError,
  isArgumentsError,
  type FramingError,
  type NotQmpError,
  type ShellSyntaxError,
  type ArgumentsError,
  type ClientError,
  type DecodeError,
} from './errors.js';
