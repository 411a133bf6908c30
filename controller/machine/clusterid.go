package machine

import "fmt"

// MaxClusterID bounds a cluster ID: the node port's hello carries it
// (controller checks that both agree).
const MaxClusterID = 64

// CmdClusterID records the cluster's ID. The first one applied stands;
// later copies (a leader that proposed before it applied an earlier
// one) change nothing.
const CmdClusterID CommandType = "cluster_id"

// ClusterIDCommand is CmdClusterID's payload.
type ClusterIDCommand struct {
	ID string `json:"id"`
}

// applyClusterID applies CmdClusterID: the first ID stands.
func (st *State) applyClusterID(c *ClusterIDCommand) error {
	if c == nil || c.ID == "" || len(c.ID) > MaxClusterID {
		return fmt.Errorf("%w: cluster_id without a valid ID", ErrBadCommand)
	}
	if st.ClusterID == "" {
		st.ClusterID = c.ID
	}
	return nil
}
