package handlers

import (
	"zhucun/store"
)

// roleMessageID is the message ID of a role's name.
func roleMessageID(role string) string {
	switch role {
	case store.RoleSupervisor:
		return "role.supervisor"
	case store.RoleFirstSecretary:
		return "role.first_secretary"
	case store.RoleResident:
		return "role.resident"
	default:
		return "role.member"
	}
}

// roleName is the localised name of a role.
func (r *Request) roleName(role string) string { return r.T(roleMessageID(role)) }

// fitsLevel reports whether a role can be held at a region of that level: supervisors
// above the villages, first secretaries, members and residents in a village.
func fitsLevel(role, level string) bool {
	if role == store.RoleSupervisor {
		return level != store.LevelVillage
	}
	return level == store.LevelVillage
}

// grantRoots returns the regions in whose subtree a user who is not an admin may invite
// someone to role: a supervisor anything under (and at) their region, a first
// secretary members and residents of their village.
func (r *Request) grantRoots(role string) []store.Region {
	var roots []store.Region
	for _, held := range r.Roles {
		switch {
		case held.Role == store.RoleSupervisor:
			roots = append(roots, held.Region)
		case held.Role == store.RoleFirstSecretary && (role == store.RoleMember || role == store.RoleResident):
			roots = append(roots, held.Region)
		}
	}
	return roots
}

// canGrant reports whether the user may invite someone to role at region. It is
// checked again on every step, whatever the buttons said.
func (r *Request) canGrant(role string, region store.Region) bool {
	if !fitsLevel(role, region.Level) {
		return false
	}
	if r.Admin {
		return true
	}
	for _, root := range r.grantRoots(role) {
		if root.Contains(region) {
			return true
		}
	}
	return false
}

// canSee reports whether the user may look at region: an admin anything, others what
// lies under one of their roles' regions.
func (r *Request) canSee(region store.Region) bool {
	if r.Admin {
		return true
	}
	for _, held := range r.Roles {
		if held.Region.Contains(region) {
			return true
		}
	}
	return false
}

// grantableRoles lists the roles the user may invite someone to, somewhere.
func (r *Request) grantableRoles() []string {
	all := []string{store.RoleSupervisor, store.RoleFirstSecretary, store.RoleMember, store.RoleResident}
	if r.Admin {
		return all
	}
	var out []string
	for _, role := range all {
		if len(r.grantRoots(role)) > 0 {
			out = append(out, role)
		}
	}
	return out
}

func canInvite(r *Request) bool { return len(r.grantableRoles()) > 0 }
