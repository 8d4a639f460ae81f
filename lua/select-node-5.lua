--[[
  select-node: picks a node for (src -> tgt) in this cell and reserves one of its slots,
  atomically.

  Choice: the affinity node while it is in the pool's available index (online, free slot),
  not excluded and not hot; else the least-loaded available node that is not excluded, cool
  nodes before hot ones (protocol v1.9: a hot node's score is load + 1, cell-avail), and
  the affinity node again when that one is hot too (all hot: affinity as before). A session
  with TTS (ARGV[9]) reads the pair's TTS index instead (only nodes with the 'tts' service);
  a two-way job (v1.11) reads the pair's two-way index (only nodes serving src:tgt and tgt:src).
  The available index holds only selectable nodes, so the scan window is ZRANGE
  0..#excluded: at most #excluded entries are skipped -> O(log N + k).
  Reservation: running+1 and the node re-scored (or removed when full) in ALL its pools;
  resv[rid] = now + lease, resvnode[rid] = node, njobs:<node> += rid, rid = "<job>|<attempt>".

  Idempotent by (job id, attempt): if rid is already reserved in this cell, the node that
  holds it is returned and nothing changes.

  KEYS[1]  available index of the pair   pool:<src>:<tgt>, or ttspool:<src>:<tgt> with TTS,
                                         or twpool:<a>:<b> (a < b) for two-way
  KEYS[2]  pool sizes                    pairs
  KEYS[3]  reservation leases            resv
  KEYS[4]  reservation owners            resvnode
  KEYS[5]  TTS members of the pair       ttsall:<src>:<tgt> (read only with TTS, on failure),
           or two-way members            twall:<a>:<b> for two-way
           (a plain job declares the pool's members, poolall:<src>:<tgt>; not read)
  (the chosen node's hash, reservation set and other pools derive from it, same hash tag)
  ARGV[1]  source language      ARGV[2]  target language
  ARGV[3]  job id               ARGV[4]  attempt (integer)
  ARGV[5]  affinity node id ('' = none)
  ARGV[6]  excluded node ids, comma list ('' = none; at most 256)
  ARGV[7]  now (ms)             ARGV[8]  lease (ms): the reservation expires at now + lease;
                                         callers pass the attempt's time plus a grace, so a
                                         recorded job never needs a second call to keep it
  ARGV[9]  '1' when the job needs TTS (KEYS[1] is then the TTS index), 'tw' when it is two-way
           (KEYS[1] is then the two-way index, KEYS[5] its members), else ''
  ARGV[10] '1' = cool nodes only: when the choice would be a hot node, reserve nothing and
           return -20 (the caller tries the other cells for a cool node first), else ''

  Returns  {node id, instance, reused}  reused = 1 when this (job, attempt) was already
                                        reserved (re-send), else 0
           -1 NO_POOL_FOR_LANG_PAIR  no node of this cell serves src:tgt (with TTS: no node
                                     with the 'tts' service does; two-way: no node serves
                                     both directions)
           -2 NO_AVAILABLE_NODE      the pool exists but no free slot (or all excluded)
           -8 BAD_ARGUMENT
           -20 ONLY_HOT_NODES       cool nodes only were asked for and only hot ones are free
]]
--@include "select-reserve"
return selectReserve(KEYS, ARGV)
