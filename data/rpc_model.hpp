// An image's rational polynomial (RPC) camera model, read where GDAL reads it and written where
// GDAL reads it back. RPCs map ground coordinates to the image's rows and columns, so a mask on
// the image's own pixel grid keeps them: gdalwarp -rpc orthorectifies a prediction of an
// unrectified satellite scene as it does the scene (before, predict dropped them, with a warning).
#pragma once

#include <string>
#include <vector>

#include "data/georef.hpp"

namespace pfce {

// A camera model as GDAL stores it in a TIFF's RPCCoefficientTag (kRpcTagValues values: ERR_BIAS,
// ERR_RAND, LINE_OFF, SAMP_OFF, LAT_OFF, LONG_OFF, HEIGHT_OFF, LINE_SCALE, SAMP_SCALE, LAT_SCALE,
// LONG_SCALE, HEIGHT_SCALE, then 20 coefficients each of LINE_NUM, LINE_DEN, SAMP_NUM, SAMP_DEN),
// and what held it ("its RPCCoefficientTag", a sidecar's path, "the RPC metadata of X.aux.xml").
struct RpcModel {
    std::vector<double> values;  // empty: the image has none
    std::string source;
};

// The model GDAL (and so QGIS and gdalwarp) reads for `image`, from the first of its places that
// holds a whole one: for a TIFF its NAME.RPB, its NAME_RPC.TXT, its RPCCoefficientTag
// (`tags.rpc_coefficients`, read_georeference) and its .aux.xml's RPC metadata; for a PNG or JPEG
// its .aux.xml, then the sidecars (GDAL reads none beside those formats, but a user who put one
// there meant it for the image). A place that holds an incomplete model (a field missing, a
// coefficient list not of 20 numbers) is said and skipped, as GDAL skips it.
RpcModel rpc_as_gdal_reads(const std::string& image, const GeoReference& tags);

// The <Metadata domain="RPC"> element of a PAM .aux.xml that gives `values` (kRpcTagValues), as
// GDAL reads a PNG's camera model (it reads no _RPC.TXT or .RPB beside a PNG): each number in its
// shortest exact form, a line per key, indented as a child of <PAMDataset>.
std::string pam_rpc_metadata(const std::vector<double>& values);

}  // namespace pfce
