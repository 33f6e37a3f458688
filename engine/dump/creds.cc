#include "engine/dump/creds.h"

namespace stasis::dump {

void CredsFromStatus(const proc::ProcStatus& s, img::Credentials* out) {
  out->set_uid(s.uid[0]);
  out->set_euid(s.uid[1]);
  out->set_suid(s.uid[2]);
  out->set_fsuid(s.uid[3]);
  out->set_gid(s.gid[0]);
  out->set_egid(s.gid[1]);
  out->set_sgid(s.gid[2]);
  out->set_fsgid(s.gid[3]);
  out->clear_groups();
  for (uint32_t g : s.groups) out->add_groups(g);
  out->set_cap_inh(s.cap_inh);
  out->set_cap_prm(s.cap_prm);
  out->set_cap_eff(s.cap_eff);
  out->set_cap_bnd(s.cap_bnd);
  out->set_cap_amb(s.cap_amb);
  out->set_no_new_privs(s.no_new_privs);
}

}  // namespace stasis::dump
