package state

import (
	"net/http"
	"time"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
)

// timeoutClient is the SDK's own HTTP client (which can still add an
// AWS_CA_BUNDLE) with a bound on the wait for each response's headers, so
// that an S3 endpoint that never answers cannot hold a run forever.
func timeoutClient(d time.Duration) *awshttp.BuildableClient {
	return awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
		tr.ResponseHeaderTimeout = d
	})
}
