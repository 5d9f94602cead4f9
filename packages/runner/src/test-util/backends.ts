// The runner registers no backend (its callers' composition roots do): its tests load the onnx one.
import '@densepure/backend-onnx';
