package aws

import (
	"net/http"
	"time"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
)

// timeoutClient is the SDK's own HTTP client (which can still add an
// AWS_CA_BUNDLE) with a bound on the wait for each response's headers: an
// endpoint that accepts connections and never answers fails the request,
// which the retryer treats like a lost one.
func timeoutClient(d time.Duration) *awshttp.BuildableClient {
	return awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
		tr.ResponseHeaderTimeout = d
	})
}
