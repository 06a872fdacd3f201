// The safetensors writer: exact bytes for a small file, and a round trip through the reader.

import Foundation
import MLPCore
import Testing

@Suite struct SafetensorsTests {
  @Test func exactBytes() {
    let data = Safetensors.encode(
      [NamedTensor(name: "b", shape: [2], values: [1, -2])], metadata: ["k": "v"])
    let header = #"{"__metadata__":{"k":"v"},"b":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#
    let padded = header + String(repeating: " ", count: (8 - header.utf8.count % 8) % 8)
    var expected = Data()
    withUnsafeBytes(of: UInt64(padded.utf8.count).littleEndian) { expected.append(contentsOf: $0) }
    expected.append(contentsOf: Array(padded.utf8))
    expected.append(contentsOf: [0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0x00, 0xC0])
    #expect(data == expected)
  }

  @Test func roundTrip() throws {
    let tensors = [
      NamedTensor(name: "layer1.weight", shape: [2, 3], values: [1, 2, 3, 4, 5, 6]),
      NamedTensor(name: "layer1.bias", shape: [2], values: [-0.5, .infinity]),
    ]
    let decoded = try #require(
      Safetensors.decode(Safetensors.encode(tensors, metadata: ["name": "x\"y"])))
    #expect(decoded.tensors == tensors.sorted { $0.name < $1.name })
    #expect(decoded.metadata == ["name": "x\"y"])
  }
}
