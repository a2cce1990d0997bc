#pragma once
// Media types Berth understands: OCI image-spec v1 and Docker image manifest
// v2 schema 2 (which OCI was derived from; the shapes are the same).
#include <string_view>

namespace berth::oci {

// OCI image-spec (media-types.md).
inline constexpr std::string_view kOciManifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr std::string_view kOciIndex = "application/vnd.oci.image.index.v1+json";
inline constexpr std::string_view kOciConfig = "application/vnd.oci.image.config.v1+json";
inline constexpr std::string_view kOciLayerTar = "application/vnd.oci.image.layer.v1.tar";
inline constexpr std::string_view kOciLayerTarGzip = "application/vnd.oci.image.layer.v1.tar+gzip";
inline constexpr std::string_view kOciLayerTarZstd = "application/vnd.oci.image.layer.v1.tar+zstd";
inline constexpr std::string_view kOciLayerNondistributableTar = "application/vnd.oci.image.layer.nondistributable.v1.tar";
inline constexpr std::string_view kOciLayerNondistributableTarGzip =
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip";
inline constexpr std::string_view kOciLayerNondistributableTarZstd =
    "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd";

// Docker image manifest v2, schema 2.
inline constexpr std::string_view kDockerManifest = "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr std::string_view kDockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr std::string_view kDockerConfig = "application/vnd.docker.container.image.v1+json";
inline constexpr std::string_view kDockerLayerTarGzip = "application/vnd.docker.image.rootfs.diff.tar.gzip";
inline constexpr std::string_view kDockerForeignLayerTarGzip =
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";
// Schema 1 is deprecated and unsigned-unsafe; recognised only to refuse it clearly.
inline constexpr std::string_view kDockerManifestV1Signed = "application/vnd.docker.distribution.manifest.v1+prettyjws";
inline constexpr std::string_view kDockerManifestV1 = "application/vnd.docker.distribution.manifest.v1+json";

// The Accept header for manifest requests: every manifest and index type we parse.
inline constexpr std::string_view kManifestAccept =
    "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, "
    "application/vnd.docker.distribution.manifest.list.v2+json, "
    "application/vnd.docker.distribution.manifest.v2+json";

enum class LayerCompression { kNone, kGzip, kZstd };

bool isManifestMediaType(std::string_view mediaType);  // single-platform manifest (OCI or Docker)
bool isIndexMediaType(std::string_view mediaType);     // OCI index or Docker manifest list
bool isConfigMediaType(std::string_view mediaType);    // image config (OCI or Docker)
bool isLayerMediaType(std::string_view mediaType);     // a layer we can unpack
// Compression of a layer media type; precondition: isLayerMediaType(mediaType).
LayerCompression layerCompression(std::string_view mediaType);

}  // namespace berth::oci
