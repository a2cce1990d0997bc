#include "oci/media_types.h"

namespace berth::oci {

bool isManifestMediaType(std::string_view m) { return m == kOciManifest || m == kDockerManifest; }

bool isIndexMediaType(std::string_view m) { return m == kOciIndex || m == kDockerManifestList; }

bool isConfigMediaType(std::string_view m) { return m == kOciConfig || m == kDockerConfig; }

bool isLayerMediaType(std::string_view m) {
  return m == kOciLayerTar || m == kOciLayerTarGzip || m == kOciLayerTarZstd || m == kOciLayerNondistributableTar ||
         m == kOciLayerNondistributableTarGzip || m == kOciLayerNondistributableTarZstd || m == kDockerLayerTarGzip ||
         m == kDockerForeignLayerTarGzip;
}

LayerCompression layerCompression(std::string_view m) {
  if (m.ends_with("+gzip") || m.ends_with(".tar.gzip")) return LayerCompression::kGzip;
  if (m.ends_with("+zstd")) return LayerCompression::kZstd;
  return LayerCompression::kNone;
}

}  // namespace berth::oci
