// The links and addresses of the calling thread's network namespace, read and set over
// rtnetlink (NETLINK_ROUTE). Used by the namespace dump and restore from a helper process that
// has entered the tree's network namespace. Only the loopback link can be recreated so far.
#pragma once

#include <google/protobuf/repeated_ptr_field.h>

#include "engine/common/error.h"
#include "engine/images/ns.pb.h"

namespace stasis::net {

// Every link with its IPv4/IPv6 addresses, in ifindex order.
Result<std::vector<img::NetLink>> ReadNetLinks();

// Makes the namespace's links look like `links`: up/down and exactly the dumped addresses.
// Links that do not exist (anything but "lo" in a fresh namespace) are refused.
Status ApplyNetLinks(const google::protobuf::RepeatedPtrField<img::NetLink>& links);

}  // namespace stasis::net
