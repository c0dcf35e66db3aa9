from deploy.demo_site.server import main

main()
