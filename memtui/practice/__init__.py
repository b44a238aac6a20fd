"""Practice: guided labs, the "why" explanations and what-if previews on a simulated host.

    labfile     a lab file: a host profile plus its [lab] table, read and checked
    objectives  the objective kinds, their words, and how each is decided while a lab runs
    figures     the figures an objective names, read from the host fast
    session     a lab run live (LabSession) and its result
    actions     actions files: a learner's run written down, played headlessly
    progress    each user's progress and results on disk, and the labs' catalogue
    labcli      memtui lab list | show | start | check
    explain     why a VM has its target, balloon, swap and compression; why the host is in its state
    whatif      a change previewed on a copy of the host before it is applied

Everything here is headless: the terminal UI (memtui.ui) shows it, nothing here imports the UI.
"""
